// Reads one access log line of Reactor's nginx (src/model/access-log.ts, delivered over syslog) into numbers: pure, table-tested.
import { LOG_MARKER } from '../model/access-log.js';

/** One upstream attempt of a request: nginx tries the next server after an error or timeout. */
export interface UpstreamAttempt {
  /** `host:port`, or an upstream name when nginx had no server left to try. */
  address: string;
  /** The attempt's HTTP status; null for `-`. */
  status: number | null;
  /** Seconds; null for `-` (no response). */
  responseTime: number | null;
}

export interface BalancerLogLine {
  /** Endpoint names of the location that handled the request (several when they share a URL); empty outside endpoints. */
  endpoints: string[];
  /** Status sent to the client. */
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** Seconds from the first client byte to the last byte sent. */
  requestTime: number;
  /** In order; empty when no upstream was asked (redirect, 502 with no instance). */
  attempts: UpstreamAttempt[];
}

/**
 * `$upstream_*` variables list one value per attempt: ", " between servers
 * of one upstream and " : " between upstream groups (after an internal
 * redirect), e.g. `127.0.0.1:32768, 127.0.0.1:32769 : 127.0.0.1:32770`.
 * `-` alone means no upstream at all.
 */
function splitUpstream(value: string): string[] {
  if (value === '' || value === '-') return [];
  return value.split(/\s*[,:]\s+/).map((part) => part.trim());
}

/** Upstream addresses contain ":" themselves, so they split only on ", " and " : " (a colon between spaces). */
function splitAddresses(value: string): string[] {
  if (value === '' || value === '-') return [];
  return value.split(/, | : /).map((part) => part.trim());
}

function number(value: string | undefined): number | null {
  if (value === undefined || value === '' || value === '-') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Parses a syslog datagram (`<190>Nov 25 12:00:00 reactor: reactor1|web|200|…`)
 * or the bare line. Returns null for anything that is not one of our lines
 * (another format, a truncated datagram), so a stray packet never breaks the
 * pipeline.
 */
export function parseLogLine(datagram: string): BalancerLogLine | null {
  const start = datagram.indexOf(`${LOG_MARKER}|`);
  if (start < 0) return null;
  const fields = datagram.slice(start + LOG_MARKER.length + 1).replace(/[\r\n]+$/, '').split('|');
  if (fields.length !== 7) return null;
  const [endpointField, statusField, bytesField, requestTimeField, addrField, statusesField, timesField] = fields;
  const status = number(statusField);
  if (status === null) return null;
  const addresses = splitAddresses(addrField);
  const statuses = splitUpstream(statusesField);
  const times = splitUpstream(timesField);
  return {
    endpoints: endpointField === '' || endpointField === '-' ? [] : endpointField.split(','),
    status,
    bytes: number(bytesField) ?? 0,
    requestTime: number(requestTimeField) ?? 0,
    attempts: addresses.map((address, i) => ({
      address,
      status: number(statuses[i]),
      responseTime: number(times[i]),
    })),
  };
}
