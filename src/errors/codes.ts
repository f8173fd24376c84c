// The one registry of Reactor's error codes: every failure that crosses the API is a ReactorError with one of these.
/**
 * Error codes, with the cause an operator should look for. The GraphQL layer
 * puts the code in `extensions.code`; the CLI prints the message.
 */
export const ErrorCodes = {
  /** The request carried a value Reactor cannot accept (bad INI, bad rule, bad number…). Fix the input. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The named endpoint, manager or instance does not exist. Check the name (`reactor list`). */
  NOT_FOUND: 'NOT_FOUND',
  /** The thing being created exists already. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** Someone else changed the same object first; re-read and retry. */
  CONFLICT: 'CONFLICT',
  /** No API key, or the wrong one. Pass `--api-key-file` / `REACTOR_API_KEY`. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The operation is understood but not allowed on this transport or in this state. */
  FORBIDDEN: 'FORBIDDEN',
  /** A dependency (store, Docker engine, nginx) failed; the message names it. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The store could not read or write in time (locked by another process, unreachable); retry shortly. The server keeps running. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** Too many failed authentications (or connections) from this client; wait for Retry-After. */
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  /** The answer would exceed the server's response size limit; ask for less. */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  /** A bug. The server log has the details. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error whose message is safe to show to the operator as it is. */
export class ReactorError extends Error {
  readonly code: ErrorCode;
  /** Structured facts about the failure (section, key, rule…), copied into `extensions`. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ReactorError';
    this.code = code;
    this.details = details;
  }
}

export const badInput = (message: string, details: Record<string, unknown> = {}) =>
  new ReactorError(ErrorCodes.BAD_USER_INPUT, message, details);

export const notFound = (kind: string, name: string) =>
  new ReactorError(ErrorCodes.NOT_FOUND, `${kind} "${name}" does not exist`, { kind, name });

export const alreadyExists = (kind: string, name: string) =>
  new ReactorError(ErrorCodes.ALREADY_EXISTS, `${kind} "${name}" already exists`, { kind, name });

/** An id clash in a batch append: the store does not say which item, so the batch is named by its first and last id. */
export const alreadyExistsInBatch = (kind: string, ids: readonly string[]) =>
  new ReactorError(ErrorCodes.ALREADY_EXISTS, `a ${kind} of the batch of ${ids.length} (ids ${ids[0]} … ${ids[ids.length - 1]}) already exists`, {
    kind,
    first: ids[0],
    last: ids[ids.length - 1],
  });

export const conflict = (kind: string, name: string) =>
  new ReactorError(
    ErrorCodes.CONFLICT,
    `${kind} "${name}" was changed by someone else at the same time; read it again and retry`,
    { kind, name },
  );

export function isReactorError(error: unknown): error is ReactorError {
  return error instanceof ReactorError;
}
