// Open-loop load at a fixed rate, run as a process of its own: one POST every 1/rate s on a keep-alive pool, latency counted from when each request was due (so a stalled server cannot hide its queue).
// autocannon's -R mode sends each connection's share in bursts, which put 30 ms of client-side queueing into the p50 of a bare Apollo Server at 100 requests/s; this sends them evenly.
// argv: url body rate seconds [idReplacement 0|1]; stdout: {"rps","p50","p99","errors","total"}
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const [url, body, rateText, secondsText, ids] = process.argv.slice(2);
const rate = Number(rateText);
const total = Math.round(rate * Number(secondsText));
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const target = new URL(url);
const latencies = [];
let errors = 0;
let done = 0;
const start = performance.now();

function send(due) {
  const text = ids === '1' ? body.replaceAll('[<id>]', randomUUID()) : body;
  const request = http.request(
    { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
    (res) => {
      let answer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (answer += chunk));
      res.on('end', () => {
        latencies.push(performance.now() - due);
        if (res.statusCode !== 200 || answer.includes('"errors"')) errors += 1;
        finish();
      });
    },
  );
  request.on('error', () => {
    errors += 1;
    finish();
  });
  request.end(text);
}

function finish() {
  done += 1;
  if (done < total) return;
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p) => Math.round(10 * (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0)) / 10;
  process.stdout.write(JSON.stringify({ rps: total / elapsed, p50: at(0.5), p99: at(0.99), errors, total }));
  agent.destroy();
}

let sent = 0;
function tick() {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) {
    send(start + (sent * 1000) / rate);
    sent += 1;
  }
  if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
}
tick();
