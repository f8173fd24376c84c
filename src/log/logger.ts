// Reactor's structured logs: one pino logger (JSON lines off a terminal, readable lines on one) handed to every part, which takes child loggers for its component and endpoint.
import pino, { type DestinationStream, type LevelWithSilent, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

/**
 * What every part is given as `log`. Lines about an endpoint carry its name
 * (`endpoint`), lines about a scaling round its decision id (`decision`),
 * and each part's child logger its `component` (api, controller, host,
 * nginx, metrics, docker).
 */
export type Logger = PinoLogger;

/** The levels `--log-level` accepts, most severe first. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Least severe level written; default `info`. */
  level?: LevelWithSilent;
  /** Where lines go; default standard error. */
  destination?: DestinationStream;
  /**
   * Readable lines (time, level, message, then the fields) instead of JSON;
   * default: when standard error is a terminal.
   */
  pretty?: boolean;
}

/** The JSON form: `level` as its name and `time` as ISO 8601, which log shippers and people both read. */
const JSON_FORMAT = {
  formatters: { level: (label: string) => ({ level: label }) },
  timestamp: pino.stdTimeFunctions.isoTime,
  base: { pid: process.pid },
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const readable = options.pretty ?? Boolean(process.stderr.isTTY);
  if (readable) {
    // In-process and synchronous: no worker thread, and nothing lost when the process exits at once.
    const stream = pretty({
      destination: options.destination ?? 2,
      sync: true,
      colorize: options.destination === undefined && Boolean(process.stderr.isTTY),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    return pino({ ...JSON_FORMAT, level }, stream);
  }
  return pino({ ...JSON_FORMAT, level }, options.destination ?? pino.destination({ fd: 2, sync: true }));
}

/** A logger that writes nothing (benchmarks, and tests that do not read the logs). */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Throws a clear error for a `--log-level` that is not one of LOG_LEVELS. */
export function parseLogLevel(value: string): LevelWithSilent {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`--log-level takes one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return level as LevelWithSilent;
}

/** A logger that keeps every line as a parsed JSON object, for tests that read what was logged. */
export function memoryLogger(level: LevelWithSilent = 'debug'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination: DestinationStream = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return { log: pino({ ...JSON_FORMAT, level }, destination), lines };
}
