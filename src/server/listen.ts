// Parses the --listen address (host:port, [v6]:port or a bare port).
import { badInput } from '../errors/codes.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string): ListenAddress {
  const match = /^(?:(\[[0-9a-fA-F:]+\]|[^:\s]+):)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    throw badInput(`--listen ${JSON.stringify(value)} is not host:port (for example 127.0.0.1:8080)`, {
      field: 'listen',
    });
  }
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}
