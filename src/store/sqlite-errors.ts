// What SQLite's errors mean to the store: which failures are a unique key already taken.

/** True for a primary-key or unique-index violation reported by SQLite. */
export function isSqliteUniqueViolation(error: unknown): boolean {
  const code = (error as { driverError?: { code?: unknown }; code?: unknown })?.driverError?.code ??
    (error as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
