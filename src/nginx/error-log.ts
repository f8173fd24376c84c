// nginx's own words: its error log read from a byte offset (only what is new), and the one line of its output that says what went wrong.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** `path:LINE` at the end of an nginx message → LINE. */
export function errorLine(message: string, file: string): number | null {
  const index = message.lastIndexOf(`${file}:`);
  if (index < 0) return null;
  const match = /^(\d+)/.exec(message.slice(index + file.length + 1));
  return match ? Number(match[1]) : null;
}

/** The first `[emerg]`/`[alert]`/`[crit]` line of nginx output, without the "nginx: ", time and pid prefixes. */
export function firstNginxError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const serious =
    lines.find((l) => /\[(emerg|alert|crit)\]/.test(l)) ??
    lines.find((l) => !/syntax is ok|test is successful|test failed/.test(l));
  return (serious ?? 'nginx failed without a message')
    .replace(/^nginx: /, '')
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .replace(/^(\[\w+\]) \d+#\d+: /, '$1 ');
}

/** An `[emerg]` or `[alert]` line of log text, if any. */
export function seriousLine(text: string): string | undefined {
  return text.split('\n').find((l) => /\[(emerg|alert)\]/.test(l));
}

/**
 * A line that means a start or reload has failed for good: `[emerg]` or
 * `[alert]`, except the bind() errors nginx logs while it retries a busy
 * port (for about 2.5 s, until "still could not bind()").
 */
export function fatalLine(text: string): string | undefined {
  return text.split('\n').find((l) => /\[(emerg|alert)\]/.test(l) && (!/bind\(\)/.test(l) || /still could not bind/.test(l)));
}

/** The error log of one nginx prefix. It grows for the master's whole life, so readers remember an offset and read only past it. */
export class ErrorLog {
  constructor(readonly path: string) {}

  /** The current size in bytes: the offset to read from after the next action. */
  size(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  /** What nginx logged after byte `offset`; '' when nothing (or no log yet). */
  since(offset: number): string {
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'r');
      const length = fstatSync(fd).size - offset;
      if (length <= 0) return '';
      const buffer = Buffer.alloc(length);
      const read = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, read).toString('utf8');
    } catch {
      return '';
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** The last `bytes` of the log. */
  tail(bytes: number): string {
    return this.since(Math.max(0, this.size() - bytes));
  }
}
