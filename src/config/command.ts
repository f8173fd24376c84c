// Splits a container `command` the way a POSIX shell would, without running one, and refuses what only a shell could do.
import { parse as parseShell } from 'shell-quote';
import { badInput } from '../errors/codes.js';

/**
 * The first shell operator (`|`, `&&`, `;`, `>`, …) in `command`, outside
 * quotes, or null. Such a command needs a shell, which Docker does not run
 * for us, so it would fail at every launch: the config refuses it at once.
 */
export function shellOperator(command: string): string | null {
  for (const entry of parseShell(command, (name: string) => `$${name}`)) {
    if (typeof entry === 'string') continue;
    if ('comment' in entry) return null;
    if (entry.op !== 'glob') return entry.op;
  }
  return null;
}

/**
 * Splits `command` the way a POSIX shell would (quotes and backslashes
 * respected), without running one. `$NAME` / `${NAME}` expand from the
 * container environment when set there, else stay as written (the image's own
 * variables are not known here). Glob patterns stay literal; `# comments` are
 * dropped. Shell operators (`|`, `&&`, `;`, `>`, …) need a shell: they are
 * refused with a hint to write `sh -c '…'`. Empty = the image's own command.
 */
export function parseCommand(command: string, environment: Record<string, string> = {}): string[] | undefined {
  if (command.trim() === '') return undefined;
  const entries = parseShell(command, (name: string) => environment[name] ?? `$${name}`);
  const argv: string[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string') {
      argv.push(entry);
    } else if ('comment' in entry) {
      break;
    } else if (entry.op === 'glob') {
      argv.push((entry as { pattern: string }).pattern);
    } else {
      throw badInput(
        `[cloud:docker] command: "${command}" uses the shell operator "${entry.op}", but the command is not run by a shell; ` +
          `write it as sh -c '…' if the image has a shell`,
        { section: 'cloud:docker', key: 'command', value: command, operator: entry.op },
      );
    }
  }
  return argv.length > 0 ? argv : undefined;
}
