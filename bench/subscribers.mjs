// Load generator for the fan-out benchmarks, run as a process of its own: many graphql-ws sockets (the protocol spoken directly over a lean WebSocket client, bench/lean-ws.mjs), each with one subscription, measuring each item's lag from its timestamp.
// argv: wsUrl count offset endpoints query
// stdout: {"ready":true} once every socket is subscribed, then {"received":N,"errors":N,"closed":N} every 250 ms, and on stdin's end one final summary (with the CPU time used since ready).
import { randomUUID } from 'node:crypto';
import { connect } from './lean-ws.mjs';

const [url, countText, offsetText, endpointsText, query] = process.argv.slice(2);
const count = Number(countText);
const offset = Number(offsetText);
const endpoints = Number(endpointsText);
const lags = [];
let received = 0;
let errors = 0;
let closed = 0;
let subscribed = 0;
/** The text of the first payload of each round, and how many sockets got other bytes for the same item (they must not). */
const firstBytes = new Map();
/** Texts past the id already parsed and checked, with their item's timestamp. */
const checked = new Map();
let differing = 0;
const sockets = [];

async function open(index) {
  // A UUID per subscription, as graphql-ws's own client makes them: no two sockets share a frame's bytes.
  const id = randomUUID();
  let socket;
  let acked;
  const ack = new Promise((resolve) => (acked = resolve));
  const head = `{"id":${JSON.stringify(id)},"type":"next",`;
  const onText = (text) => {
    // A next frame whose bytes past the id are those of one already parsed and checked: the same item, as it must be;
    // only its lag is taken (parsing it again would only spend the load generator's CPU).
    if (text.startsWith(head)) {
      const known = checked.get(text.slice(head.length));
      if (known !== undefined) {
        lags.push(Date.now() - known.at);
        received += 1;
        return;
      }
    }
    const message = JSON.parse(text);
    if (message.type === 'connection_ack') {
      acked();
    } else if (message.type === 'next') {
      const item = message.payload.data?.metricSamples;
      if (!item) {
        errors += 1;
        return;
      }
      if (item.metrics?.bench === undefined) return; // a sample of the server's own sampler, not one of ours
      lags.push(Date.now() - Date.parse(item.at));
      received += 1;
      if (message.id !== id) errors += 1;
      // Past its subscription id, the same item must arrive as the very same text on every socket.
      const rest = text.slice(text.indexOf(',"type":') + ',"type":'.length);
      const first = firstBytes.get(item.id);
      if (first === undefined) firstBytes.set(item.id, rest);
      else if (first !== rest) differing += 1;
      checked.set(rest, { at: Date.parse(item.at) });
    } else if (message.type === 'error') {
      errors += 1;
    }
  };
  let ended = false;
  const onClose = () => {
    ended = true;
    closed += 1;
    acked();
  };
  try {
    socket = await connect(url, 'graphql-transport-ws', onText, onClose);
  } catch {
    errors += 1;
    return;
  }
  sockets.push(socket);
  socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await ack;
  if (ended) return; // closed before its ack: counted as closed, never subscribed
  socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables: { endpoint: `svc${index % endpoints}` } } }));
  subscribed += 1;
}

// Opened a hundred at a time, as clients arriving, not as one burst of 10,000 handshakes.
for (let start = 0; start < count; start += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - start) }, (_, i) => open(offset + start + i)));
}
process.stdout.write(`${JSON.stringify({ ready: true, subscribed })}\n`);
const cpuAtReady = process.cpuUsage();
const progress = setInterval(() => process.stdout.write(`${JSON.stringify({ received, errors, closed })}\n`), 250);

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(progress);
  lags.sort((a, b) => a - b);
  const summary = {
    final: true,
    received,
    errors,
    closed,
    differing,
    p50: percentile(lags, 0.5),
    p90: percentile(lags, 0.9),
    p99: percentile(lags, 0.99),
    max: lags[lags.length - 1] ?? 0,
    cpu: process.cpuUsage(cpuAtReady),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`, () => {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  });
});
