// One process per data directory (and per SQLite file): an exclusive SQLite lock that the kernel releases when its holder dies, even by kill -9.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ErrorCodes, ReactorError } from '../errors/codes.js';

export interface HeldLock {
  /** The lock database's path. */
  file: string;
  /** Lets go of the lock (idempotent); a process that dies lets go of it too. */
  release(): void;
}

/** Where the holder writes its pid, for the message a second process gets. */
export function holderFile(lockFile: string): string {
  return `${lockFile}.pid`;
}

/**
 * Takes the exclusive lock of `lockFile` (a small SQLite database, created if
 * missing) and holds it until release() or the process's end. It is SQLite's
 * own fcntl lock, kept by an open EXCLUSIVE transaction, so nothing can go
 * stale: the kernel drops it with the process, and a pid in a file that
 * outlived its process is only ever read for the message. Another process, or
 * another server in this one, is refused at once with CONFLICT:
 * "<what> is in use by another reactor server (pid N)…" followed by `hint`.
 */
export function lockExclusively(lockFile: string, what: string, hint: string): HeldLock {
  let db: Database.Database;
  try {
    db = new Database(lockFile, { timeout: 0 });
  } catch (error) {
    throw new ReactorError(ErrorCodes.UNAVAILABLE, `cannot open the lock of ${what} (${lockFile}): ${(error as Error).message}`, {
      lockFile,
    });
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // Held for the life of the connection: never committed, and in EXCLUSIVE locking mode never given back early.
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY' && (error as { code?: string }).code !== 'SQLITE_LOCKED') {
      throw new ReactorError(ErrorCodes.UNAVAILABLE, `cannot take the lock of ${what} (${lockFile}): ${(error as Error).message}`, {
        lockFile,
      });
    }
    const pid = readHolder(lockFile);
    const holder = pid ? `pid ${pid}` : 'its pid unknown';
    throw new ReactorError(ErrorCodes.CONFLICT, `${what} is in use by another reactor server (${holder}); ${hint}`, {
      lockFile,
      ...(pid ? { pid } : {}),
    });
  }
  writeFileSync(holderFile(lockFile), `${process.pid}\n`);
  let held = true;
  return {
    file: lockFile,
    release() {
      if (!held) return;
      held = false;
      // The pid file first: once the lock is free, the next holder writes its own.
      rmSync(holderFile(lockFile), { force: true });
      db.close();
    },
  };
}

function readHolder(lockFile: string): number | null {
  try {
    const pid = Number(readFileSync(holderFile(lockFile), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
