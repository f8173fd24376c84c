// A lean WebSocket client for the load generators (RFC 6455 over a plain TCP socket): the benchmark's clients share the server's two cores, and ws's client, a stream per socket, cost the load generator about 20 µs of CPU per message that the server under test then did not get.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/**
 * Opens `url` with `protocol` and calls `onText(text)` for each text message
 * (whole, unfragmented: ws's server does not fragment), `onClose()` once.
 * Answers pings (graphql-ws's keep-alive). Resolves once the handshake is
 * done with `{ send(text), terminate() }`; rejects on a refused handshake.
 */
export function connect(url, protocol, onText, onClose) {
  const { hostname, port, pathname } = new URL(url);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const socket = net.connect(Number(port), hostname);
  socket.setNoDelay(true);
  let pending = null;
  let open = false;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onClose();
  };
  const send = (opcode, payload) => {
    // Frames from a client are masked (RFC 6455 5.3).
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(header + 4 + length);
    frame[0] = 0x80 | opcode;
    if (header === 2) frame[1] = 0x80 | length;
    else if (header === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, header);
    for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3];
    socket.write(frame);
  };
  /** Reads every whole frame in `bytes`; returns what is left of a frame not yet whole. */
  const frames = (bytes) => {
    let at = 0;
    for (;;) {
      if (bytes.length - at < 2) break;
      const opcode = bytes[at] & 0x0f;
      let length = bytes[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (bytes.length - at < 4) break;
        length = bytes.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (bytes.length - at < 10) break;
        length = Number(bytes.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (bytes.length - at < header + length) break;
      const payload = bytes.subarray(at + header, at + header + length);
      at += header + length;
      if (opcode === TEXT) onText(payload.toString());
      else if (opcode === PING) send(PONG, payload);
      else if (opcode === CLOSE) socket.end(), end();
    }
    return at < bytes.length ? Buffer.from(bytes.subarray(at)) : null;
  };
  return new Promise((resolve, reject) => {
    socket.on('connect', () =>
      socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      ),
    );
    socket.on('data', (chunk) => {
      let bytes = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      if (!open) {
        const head = bytes.indexOf('\r\n\r\n');
        if (head < 0) return void (pending = Buffer.from(bytes));
        const response = bytes.subarray(0, head).toString();
        if (!/^HTTP\/1\.1 101 /.test(response) || !response.includes(accept)) {
          socket.destroy();
          return reject(new Error(`handshake refused: ${response.split('\r\n')[0]}`));
        }
        open = true;
        bytes = bytes.subarray(head + 4);
        resolve({ send: (text) => send(TEXT, Buffer.from(text)), terminate: () => socket.destroy() });
      }
      pending = frames(bytes);
    });
    // Before the handshake is done a failure or a close refuses it; after, it ends the connection.
    socket.on('error', () => (open ? end() : reject(new Error('connection failed'))));
    socket.on('close', () => (open ? end() : reject(new Error('closed before the handshake was done'))));
  });
}
