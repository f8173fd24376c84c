// Assertions on Reactor's coded errors (src/errors/codes.ts): a test asserts the code and what the message names, then reads the error's details.
import assert from 'node:assert/strict';
import { ErrorCodes, ReactorError, type ErrorCode } from '../../src/errors/codes.js';

/** Asserts that `error` is a ReactorError with `code` whose message mentions each of `mentions`; returns it, typed. */
export function assertCode(error: unknown, code: ErrorCode, mentions: readonly string[] = []): ReactorError {
  assert.ok(error instanceof ReactorError, `expected a ReactorError ${code}, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  for (const m of mentions) assert.ok(error.message.includes(m), `"${error.message}" should mention ${JSON.stringify(m)}`);
  return error;
}

/** Runs `fn`, which must throw a ReactorError with `code` (see assertCode); returns the error. */
export function throwsCode(fn: () => unknown, code: ErrorCode, mentions: readonly string[] = []): ReactorError {
  try {
    fn();
  } catch (error) {
    return assertCode(error, code, mentions);
  }
  assert.fail(`expected a ReactorError ${code}, but nothing was thrown`);
}

/** Awaits `promise`, which must reject with a ReactorError with `code` (see assertCode); returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode, mentions: readonly string[] = []): Promise<ReactorError> {
  try {
    await promise;
  } catch (error) {
    return assertCode(error, code, mentions);
  }
  assert.fail(`expected a ReactorError ${code}, but the promise resolved`);
}

/** Runs `fn`, which must refuse its input with BAD_USER_INPUT naming each of `mentions`; returns the error. */
export function expectBadInput(fn: () => unknown, mentions: readonly string[] = []): ReactorError {
  return throwsCode(fn, ErrorCodes.BAD_USER_INPUT, mentions);
}
