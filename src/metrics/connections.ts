// Counts open TCP connections to each backend from /proc/net/tcp and /proc/net/tcp6: the `active` metric.
import { readFile } from 'node:fs/promises';

/**
 * What `active` counts: sockets of this host's network namespace in state
 * ESTABLISHED whose remote end is the backend's `ip:port` — in practice
 * nginx's connections to the backend's published port (requests in flight,
 * plus idle upstream keepalive connections when `keepalive` > 0), and any
 * other local client of that port. Backends named by host name, or on other
 * hosts' addresses that no local socket dials, count 0.
 */

const ESTABLISHED = '01';

function ipv4FromHex(hex: string): string {
  // /proc stores the address in host (little-endian) byte order.
  const bytes = [hex.slice(6, 8), hex.slice(4, 6), hex.slice(2, 4), hex.slice(0, 2)].map((b) => parseInt(b, 16));
  return bytes.join('.');
}

function ipv6FromHex(hex: string): string {
  // Four 32-bit words, each little-endian.
  const words = [0, 1, 2, 3].map((w) => hex.slice(w * 8, w * 8 + 8));
  const bytes = words.flatMap((word) => [word.slice(6, 8), word.slice(4, 6), word.slice(2, 4), word.slice(0, 2)]);
  const full = bytes.join('').toLowerCase();
  if (full.startsWith('00000000000000000000ffff')) return ipv4FromHex(hex.slice(24, 32));
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parseInt(full.slice(i, i + 4), 16).toString(16));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]`;
}

/** `0100007F:1F90` → `127.0.0.1:8080`; 32-hex-digit addresses are IPv6 (`[::1]:8080`, or IPv4 when mapped). */
export function decodeProcAddress(field: string): string | null {
  const [hexIp, hexPort] = field.split(':');
  if (!hexIp || !hexPort) return null;
  const port = parseInt(hexPort, 16);
  if (hexIp.length === 8) return `${ipv4FromHex(hexIp)}:${port}`;
  if (hexIp.length === 32) return `${ipv6FromHex(hexIp)}:${port}`;
  return null;
}

/** Remote address → ESTABLISHED sockets, from the text of /proc/net/tcp and/or tcp6. */
export function countEstablished(tables: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 4 || columns[3] !== ESTABLISHED) continue;
      const remote = decodeProcAddress(columns[2]);
      if (remote) counts.set(remote, (counts.get(remote) ?? 0) + 1);
    }
  }
  return counts;
}

export async function readEstablished(files = ['/proc/net/tcp', '/proc/net/tcp6']): Promise<Map<string, number>> {
  const tables = await Promise.all(files.map((file) => readFile(file, 'utf8').catch(() => '')));
  return countEstablished(tables);
}

/** Polls the tables through an interval and gives each address's mean count at the end of it. */
export class ConnectionSampler {
  private sums = new Map<string, number>();
  private polls = 0;
  /** The counts of the latest poll: what is open now, rather than on average (draining asks this). */
  latest: ReadonlyMap<string, number> = new Map();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Promise<Map<string, number>> = () => readEstablished(),
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async poll(): Promise<void> {
    const counts = await this.read().catch(() => new Map<string, number>());
    this.latest = counts;
    for (const [address, count] of counts) this.sums.set(address, (this.sums.get(address) ?? 0) + count);
    this.polls += 1;
  }

  /** Open connections per address right now, without touching the interval's means. */
  async current(): Promise<Map<string, number>> {
    return this.read().catch(() => new Map<string, number>());
  }

  /** Mean connections per address since the last take (one fresh poll included), then starts over. */
  async take(): Promise<Map<string, number>> {
    await this.poll();
    const means = new Map<string, number>();
    for (const [address, sum] of this.sums) means.set(address, sum / this.polls);
    this.sums = new Map();
    this.polls = 0;
    return means;
  }
}
