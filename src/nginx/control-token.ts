// The secret the peer-list control location asks for: made once per nginx prefix, kept in a file only its owner reads, so a restarted server still holds the token of the master it adopts.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The token's file under the prefix (mode 0600); the master reads it at every start and reload (init_by_lua, before workers drop privileges). */
export const CONTROL_TOKEN_FILE = 'reactor-control.token';
/** The request header the driver sends the token in. */
export const CONTROL_TOKEN_HEADER = 'X-Reactor-Token';

const TOKEN = /^[0-9a-f]{64}$/;

/**
 * The prefix's control token: the one in its file when there is a well-formed
 * one (a running master loaded it, so a restarted server must send the same),
 * otherwise 32 fresh random bytes, written first. The file is made 0600
 * whatever umask or earlier hand made it, since anyone who reads it can
 * rewrite every endpoint's peers.
 */
export function ensureControlToken(prefix: string, random: (size: number) => Buffer = randomBytes): string {
  const path = join(prefix, CONTROL_TOKEN_FILE);
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (existing !== undefined && TOKEN.test(existing)) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return existing;
  }
  const token = random(32).toString('hex');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return token;
}
