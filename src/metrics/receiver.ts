// Receives nginx's access log lines as syslog datagrams on a loopback UDP port and hands each parsed line on.
import dgram from 'node:dgram';
import { parseLogLine, type BalancerLogLine } from './log-line.js';

/** Asked of the kernel; Linux caps it at net.core.rmem_max. Bursts of log lines queue here. */
const RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

export interface LogReceiver {
  /** The UDP port on 127.0.0.1 nginx is told to send to. */
  port: number;
  /** Datagrams that were not one of our lines. */
  readonly ignored: number;
  close(): Promise<void>;
}

/** Binds `udp4` on 127.0.0.1 (port 0 = any free port). */
export function startLogReceiver(onLine: (line: BalancerLogLine) => void, port = 0): Promise<LogReceiver> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
    let ignored = 0;
    socket.on('message', (message) => {
      const line = parseLogLine(message.toString('latin1'));
      if (line) onLine(line);
      else ignored += 1;
    });
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      socket.unref();
      resolve({
        port: socket.address().port,
        get ignored() {
          return ignored;
        },
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
