// What a running nginx master serves, kept beside it in its prefix, so the next server adopts the master instead of replacing it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BalancedEndpoint } from './render.js';
import { writeFileAtomic } from './transaction.js';

/**
 * Written after every start and every change nginx accepted. A server that
 * starts while this master still runs adopts it: the same control port,
 * the same generation, the same model, so nothing is reloaded unless the
 * store says something changed meanwhile.
 */
export interface BalancerState {
  /** The master's pid. */
  pid: number;
  /** The loopback port of its control server. */
  controlPort: number;
  /** The access log port its configuration sends to (the next server tries to bind the same one). */
  syslogPort: number;
  /** The generation it serves. */
  generation: number;
  /** Everything else the rendered text depends on (listen address, user, prefix); a change means a reload. */
  renderKey: string;
  /** The endpoints it serves (the last good model). */
  model: BalancedEndpoint[];
}

export const STATE_FILE = 'reactor-balancer.json';

export function stateFilePath(prefix: string): string {
  return join(prefix, STATE_FILE);
}

/** The state a master left, or null when there is none or it does not read as one. */
export function readBalancerState(prefix: string): BalancerState | null {
  try {
    const state = JSON.parse(readFileSync(stateFilePath(prefix), 'utf8')) as Partial<BalancerState>;
    const whole = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n > 0;
    if (!whole(state.pid) || !whole(state.controlPort) || !whole(state.syslogPort) || !whole(state.generation)) return null;
    if (typeof state.renderKey !== 'string' || !Array.isArray(state.model)) return null;
    return state as BalancerState;
  } catch {
    return null;
  }
}

export function writeBalancerState(prefix: string, state: BalancerState): void {
  writeFileAtomic(stateFilePath(prefix), `${JSON.stringify(state)}\n`);
}
