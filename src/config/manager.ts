// Manager (host) configuration: defaults, parsing and validation of each key, with errors that name the key and the allowed range.
import { badInput } from '../errors/codes.js';
import { DEFAULT_MANAGER_SLOTS, type ManagerConfig } from './model.js';
import { integer, ValueProblem, type Codec } from './values.js';

/** One manager key as operators and docs see it. */
export interface ManagerOption {
  key: keyof ManagerConfig & string;
  default: string;
  allowed: string;
  doc: string;
}

interface ManagerOptionSpec extends ManagerOption {
  codec: Codec<number>;
}

/**
 * Every manager key. `slots` may be 0: a host that offers no slots stays a
 * member (its balancer still serves) but receives no instances.
 */
const OPTIONS: readonly ManagerOptionSpec[] = [
  {
    key: 'slots',
    default: String(DEFAULT_MANAGER_SLOTS),
    allowed: integer(0).allowed,
    doc: 'Scheduling slots this host offers to instances.',
    codec: integer(0),
  },
];

/** Every manager key, with its default and documentation. */
export const MANAGER_OPTIONS: readonly ManagerOption[] = OPTIONS.map(({ key, default: def, allowed, doc }) => ({
  key,
  default: def,
  allowed,
  doc,
}));

function findOption(key: string): ManagerOptionSpec {
  const spec = OPTIONS.find((o) => o.key === key);
  if (!spec) {
    const keys = OPTIONS.map((o) => o.key);
    throw badInput(`unknown manager key "${key}"; allowed keys: ${keys.join(', ')}`, { key, allowed: keys });
  }
  return spec;
}

/** A manager's settings at their defaults. */
export function defaultManagerConfig(): ManagerConfig {
  return { slots: DEFAULT_MANAGER_SLOTS };
}

/**
 * Parses one manager key's value (`slots`, `"10"`) into a patch (`{slots: 10}`).
 * Throws BAD_USER_INPUT naming the key, the value and what is allowed.
 */
export function parseManagerOption(key: string, value: string): Partial<ManagerConfig> {
  const spec = findOption(key);
  const raw = value.trim();
  try {
    return { [spec.key]: spec.codec.parse(raw) };
  } catch (error) {
    if (!(error instanceof ValueProblem)) throw error;
    throw badInput(`manager ${spec.key}: "${raw}" ${error.reason}; allowed: ${spec.allowed}`, {
      key: spec.key,
      value: raw,
      allowed: spec.allowed,
    });
  }
}

/** A new manager configuration with one key changed; the input is never mutated. */
export function setManagerOption(config: ManagerConfig, key: string, value: string): ManagerConfig {
  return validateManagerConfig({ ...config, ...parseManagerOption(key, value) });
}

/** A manager key's value as text (`reactor` prints it bare). */
export function getManagerOption(config: ManagerConfig, key: string): string {
  const spec = findOption(key);
  return spec.codec.render(config[spec.key]);
}

/** Checks a typed manager configuration (from the CLI, GraphQL or the store); returns a fresh copy. */
export function validateManagerConfig(config: ManagerConfig): ManagerConfig {
  const result = defaultManagerConfig();
  for (const spec of OPTIONS) {
    const value = config[spec.key];
    if (typeof value !== 'number') {
      throw badInput(`manager ${spec.key}: ${JSON.stringify(value) ?? 'undefined'} is not a number; allowed: ${spec.allowed}`, {
        key: spec.key,
        allowed: spec.allowed,
      });
    }
    Object.assign(result, parseManagerOption(spec.key, String(value)));
  }
  return result;
}
