// Value codecs for configuration keys: how one INI value string becomes a typed value, what is allowed, and how it is written back.
import { ipFamily as isIP } from './ip.js';

/**
 * Why a value was refused. Thrown by codecs, which know the value but not
 * where it came from; the caller adds the section, key and line.
 */
export class ValueProblem extends Error {
  constructor(
    /** Completes `"<value>" …`, e.g. `is out of range`. */
    readonly reason: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(reason);
    this.name = 'ValueProblem';
  }
}

/**
 * One kind of value. `parse` receives the trimmed INI value and throws a
 * ValueProblem; `render` is its inverse: `parse(render(v))` deep-equals `v`
 * for every `v` that `parse` returns, and `render(parse(s))` is the
 * canonical spelling of `s`.
 */
export interface Codec<T> {
  /** What is allowed, as an operator reads it in an error: `a whole number from 1 to 65535`. */
  readonly allowed: string;
  parse(raw: string): T;
  render(value: T): string;
}

// ---------------------------------------------------------------- numbers

function wholeNumber(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new ValueProblem('is too large');
    return n;
  }
  if (raw === '') throw new ValueProblem('is empty');
  const n = Number(raw);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) || !Number.isFinite(n)) {
    throw new ValueProblem('is not a number');
  }
  if (n < 0) throw new ValueProblem('is negative');
  throw new ValueProblem('is not a whole number');
}

/** A whole number in `[min, max]` (max optional), written in plain decimal. */
export function integer(min: number, max?: number): Codec<number> {
  const allowed =
    max === undefined ? `a whole number, ${min} or more` : `a whole number from ${min} to ${max}`;
  return {
    allowed,
    parse(raw) {
      const n = wholeNumber(raw);
      if (n < min || (max !== undefined && n > max)) throw new ValueProblem('is out of range');
      return n;
    },
    render: (n) => String(n),
  };
}

const MEMORY_UNITS = [
  ['g', 1024 ** 3],
  ['m', 1024 ** 2],
  ['k', 1024],
] as const;

/** Docker refuses smaller memory limits ("Minimum memory limit allowed is 6MB"). */
export const DOCKER_MIN_MEMORY = 6 * 1024 ** 2;

/**
 * Bytes, with an optional 1024-based suffix k/m/g (any case, optional trailing
 * `b`): `512m` = 536870912. 0 means no limit. Written back with the largest
 * suffix that divides exactly (`1536m`, not `1.5g`), so what the operator
 * typed usually comes back unchanged.
 */
export const memory: Codec<number> = {
  allowed: `0 (no limit) or bytes from ${DOCKER_MIN_MEMORY} (6m) up, with an optional suffix k, m or g (1024-based), e.g. 512m`,
  parse(raw) {
    const match = /^(\d+)\s*([kmg])?b?$/i.exec(raw);
    if (!match) {
      const number = /^([+-]?[\d.e]+)\s*[kmg]?b?$/i.exec(raw);
      if (number && Number(number[1]) < 0) throw new ValueProblem('is negative');
      if (number && Number.isFinite(Number(number[1]))) throw new ValueProblem('is not a whole number of bytes or k/m/g');
      throw new ValueProblem(raw === '' ? 'is empty' : 'is not a size');
    }
    const unit = MEMORY_UNITS.find(([suffix]) => suffix === match[2]?.toLowerCase());
    const bytes = Number(match[1]) * (unit ? unit[1] : 1);
    if (!Number.isSafeInteger(bytes)) throw new ValueProblem('is too large');
    if (bytes !== 0 && bytes < DOCKER_MIN_MEMORY) throw new ValueProblem("is below Docker's minimum of 6m");
    return bytes;
  },
  render(bytes) {
    if (bytes === 0) return '0';
    const unit = MEMORY_UNITS.find(([, size]) => bytes % size === 0);
    return unit ? `${bytes / unit[1]}${unit[0]}` : String(bytes);
  },
};

// ---------------------------------------------------------------- words

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

/** true/yes/on/1 or false/no/off/0, any case; written back as `true` / `false`. */
export const boolean: Codec<boolean> = {
  allowed: 'true or false (also yes/no, on/off, 1/0)',
  parse(raw) {
    const word = raw.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    throw new ValueProblem('is not a boolean');
  },
  render: (b) => (b ? 'true' : 'false'),
};

/** Exactly one of `values` (case-sensitive, as nginx and Docker spell them). */
export function oneOf<T extends string>(values: readonly T[]): Codec<T> {
  return {
    allowed: values.map((v) => `"${v}"`).join(' or '),
    parse(raw) {
      if ((values as readonly string[]).includes(raw)) return raw as T;
      throw new ValueProblem('is not supported');
    },
    render: (v) => v,
  };
}

/** Any text that fits on one INI line (the INI reader already refuses the rest). */
export const text: Codec<string> = {
  allowed: 'any text on one line',
  parse: (raw) => raw,
  render: (v) => v,
};

/** Text matching `pattern`, or empty when `optional`. */
export function pattern(regex: RegExp, allowed: string, optional = true): Codec<string> {
  return {
    allowed: optional ? `empty, or ${allowed}` : allowed,
    parse(raw) {
      if (raw === '' && optional) return raw;
      if (!regex.test(raw)) throw new ValueProblem(raw === '' ? 'is empty' : 'is not valid');
      return raw;
    },
    render: (v) => v,
  };
}

// ---------------------------------------------------------------- hosts and addresses

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A DNS name (labels of letters, digits, `-`, `_`), at most 253 characters. */
export function isHostName(host: string): boolean {
  return host.length > 0 && host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

/** A host name, an IPv4 address or an IPv6 address (bare). */
export function isHostOrIp(host: string): boolean {
  return isIP(host) !== 0 || isHostName(host);
}

function readPort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ValueProblem(`has port "${text}", which is not a number from 1 to 65535`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new ValueProblem(`has port ${port}, outside 1 to 65535`);
  return port;
}

/** Splits `host[:port]` / `[v6][:port]`; the host is returned without brackets. */
function splitHostPort(authority: string): { host: string; port?: string; bracketed: boolean } {
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new ValueProblem('has an unclosed "[" around an IPv6 address');
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new ValueProblem('has text after the IPv6 address');
    return { host: authority.slice(1, close), port: rest === '' ? undefined : rest.slice(1), bracketed: true };
  }
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return { host: authority, bracketed: false };
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1), bracketed: false };
}

/** The parts of an endpoint URL, with defaults filled in. */
export interface EndpointUrl {
  scheme: 'http' | 'https';
  /** Lower-cased; '' = the default server (nginx `default_server`). */
  host: string;
  /** 80 for http and 443 for https unless given. */
  port: number;
  /** Starts with '/'; '/' when none given. */
  path: string;
}

/** Characters allowed in a URL path: RFC 3986 pchar minus `;` and `'`, which nginx config would misread. */
const PATH = /^\/[A-Za-z0-9._~%!$&()*+,=:@/-]*$/;

/** Reads `http://[host][:port][/path]` or `https://…`; throws ValueProblem. */
export function readEndpointUrl(raw: string): EndpointUrl {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(raw);
  if (!match) throw new ValueProblem('does not start with http:// or https://');
  const scheme = match[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new ValueProblem(`has scheme "${match[1]}", not http or https`);
  const rest = match[2];
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '/' : rest.slice(slash);
  const { host, port, bracketed } = splitHostPort(authority);
  if (bracketed ? isIP(host) !== 6 : host !== '' && !isHostOrIp(host.replace(/^\*\./, ''))) {
    throw new ValueProblem(`has host "${host}", which is not a host name or IP address`);
  }
  if (!PATH.test(path)) {
    throw new ValueProblem(`has path "${path}"; paths use letters, digits and - . _ ~ % ! $ & ( ) * + , = : @ /`);
  }
  return {
    scheme,
    host: host.toLowerCase(),
    port: port === undefined ? (scheme === 'https' ? 443 : 80) : readPort(port),
    path,
  };
}

/** `http://[host][:port][/path]`, kept as written after checking it. */
export const endpointUrl: Codec<string> = {
  allowed: 'http://[host][:port][/path] or https://… (http:// alone = the default server on port 80)',
  parse(raw) {
    readEndpointUrl(raw);
    return raw;
  },
  render: (v) => v,
};

/** Reads a comma-separated list; '' = empty list; blank items are refused. */
function readList(raw: string): string[] {
  if (raw === '') return [];
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new ValueProblem('has an empty item between commas');
  return items;
}

/** Comma-separated `host:port` backends (`[v6]:port` for IPv6), each at most once. */
export const hostPortList: Codec<string[]> = {
  allowed: 'empty, or comma-separated host:port addresses, e.g. 10.0.0.5:8080,backup.local:80',
  parse(raw) {
    const items = readList(raw);
    for (const item of items) {
      const { host, port, bracketed } = splitHostPort(item);
      const hostOk = bracketed ? isIP(host) === 6 : isHostOrIp(host) && isIP(host) !== 6;
      if (!hostOk) throw new ValueProblem(`has "${item}", whose host is not a host name or IP address`);
      if (port === undefined) throw new ValueProblem(`has "${item}" without a :port`);
      readPort(port);
    }
    const repeated = items.find((item, i) => items.indexOf(item) !== i);
    if (repeated) throw new ValueProblem(`lists "${repeated}" twice`);
    return items;
  },
  render: (list) => list.join(','),
};

/** Comma-separated DNS servers: IP addresses or host names. */
export const hostList: Codec<string[]> = {
  allowed: 'empty, or comma-separated IP addresses or host names, e.g. 8.8.8.8,1.1.1.1',
  parse(raw) {
    const items = readList(raw);
    const bad = items.find((item) => !isHostOrIp(item));
    if (bad !== undefined) throw new ValueProblem(`has "${bad}", which is not an IP address or host name`);
    return items;
  },
  render: (list) => list.join(','),
};

/** A container host name (empty = Docker picks one). */
export const hostName: Codec<string> = {
  allowed: 'empty, or a host name (letters, digits, "-", "_", dots between labels)',
  parse(raw) {
    if (raw !== '' && !isHostName(raw)) throw new ValueProblem('is not a host name');
    return raw;
  },
  render: (v) => v,
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `KEY=value,OTHER=value`: names are environment variable names, values run
 * to the next comma (so they cannot contain one), each name at most once.
 */
export const environment: Codec<Record<string, string>> = {
  allowed: 'empty, or comma-separated KEY=value pairs, KEY made of letters, digits and "_" (not starting with a digit)',
  parse(raw) {
    // A Map, then Object.fromEntries: a plain `env[name] = …` would drop `__proto__=x`.
    const env = new Map<string, string>();
    for (const item of readList(raw)) {
      const equals = item.indexOf('=');
      if (equals < 0) throw new ValueProblem(`has "${item}", which is not KEY=value`);
      const name = item.slice(0, equals).trim();
      if (!ENV_NAME.test(name)) throw new ValueProblem(`has "${name}", which is not an environment variable name`);
      if (env.has(name)) throw new ValueProblem(`sets ${name} twice`);
      env.set(name, item.slice(equals + 1).trim());
    }
    return Object.fromEntries(env);
  },
  render: (env) =>
    Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join(','),
};
