// Load generator for the socket-write floor: `count` plain TCP connections to 127.0.0.1:port that read and count what arrives, doing nothing else, as a process of its own.
// argv: port count. stdout: {"ready":true} once all are connected; on stdin's end, {"final":true,"bytes":N}.
import net from 'node:net';

const [port, count] = process.argv.slice(2).map(Number);
let bytes = 0;
const sockets = [];
// Connected a hundred at a time, as the subscribers are.
for (let start = 0; start < count; start += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, count - start) }, () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('data', (chunk) => (bytes += chunk.length));
      sockets.push(socket);
      return new Promise((resolve) => socket.once('connect', resolve));
    }),
  );
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  process.stdout.write(`${JSON.stringify({ final: true, bytes })}\n`, () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
});
