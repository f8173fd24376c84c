// A free TCP port on loopback, for our own nginx's control server (and tests that need a port nobody uses).
import net from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it; someone else may take it before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
