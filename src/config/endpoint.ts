// Endpoint configuration: one table of every INI key drives defaults, parsing, validation, canonical rendering and get/set.
import { badInput, isReactorError, type ReactorError } from '../errors/codes.js';
import { parseRules } from '../scaling/rules.js';
import { shellOperator } from './command.js';
import { isIniSafeValue, parseIni, renderIni } from './ini.js';
import type { EndpointConfig } from './model.js';
import {
  boolean,
  endpointUrl,
  environment,
  hostList,
  hostName,
  hostPortList,
  integer,
  memory,
  oneOf,
  pattern,
  readEndpointUrl,
  ValueProblem,
  type Codec,
  type EndpointUrl,
} from './values.js';

export type { EndpointUrl } from './values.js';

/**
 * Three steps, as in Knative's config packages:
 *
 * 1. defaults: every key starts at the default written in the table below;
 * 2. parse: each `key=value` of the file goes through its key's codec, into
 *    the typed model (src/config/model.ts);
 * 3. validate: the checks that span keys (min_instances <= max_instances, a
 *    docker endpoint names an image).
 *
 * Every refusal is a BAD_USER_INPUT whose message names the section, the key,
 * the value and what is allowed, e.g.
 *
 *   line 4: [endpoint] port: "70000" is out of range; allowed: a whole number from 1 to 65535
 *
 * `renderEndpointConfig` writes every key of every section in table order, so
 * the stored `configText` is complete and two versions diff line by line.
 */

type SectionField = keyof EndpointConfig;

/** The four INI sections, in the order they are rendered, and the model field each fills. */
const SECTIONS: ReadonlyArray<{ name: string; field: SectionField }> = [
  { name: 'endpoint', field: 'endpoint' },
  { name: 'scaling', field: 'scaling' },
  { name: 'cloud:docker', field: 'docker' },
  { name: 'loadbalancer:nginx', field: 'nginx' },
];

/** The INI section names Reactor accepts, in rendering order. */
export const ENDPOINT_SECTIONS: readonly string[] = SECTIONS.map((s) => s.name);

/** One configuration key as operators and docs see it. */
export interface EndpointOption {
  /** INI section name, e.g. `cloud:docker`. */
  section: string;
  /** INI key, snake_case, e.g. `mem_limit`. */
  key: string;
  /** Field in the model section, e.g. `memLimit`. */
  field: string;
  /** The default as written in INI (`''` for empty). */
  default: string;
  /** What values are allowed, as quoted in errors. */
  allowed: string;
  /** One line of documentation. */
  doc: string;
  /** Longest value accepted, in characters. */
  maxLength: number;
}

interface OptionSpec extends EndpointOption {
  sectionField: SectionField;
  parse(raw: string): unknown;
  render(value: unknown): string;
}

/** Builds one table row; the generic parameters make the codec's type match the model field's. */
function option<S extends SectionField, F extends keyof EndpointConfig[S] & string>(
  sectionField: S,
  key: string,
  field: F,
  codec: Codec<EndpointConfig[S][F]>,
  defaultText: string,
  doc: string,
  maxLength = DEFAULT_MAX_LENGTH,
): OptionSpec {
  const section = SECTIONS.find((s) => s.field === sectionField)!.name;
  return {
    section,
    key,
    field,
    default: defaultText,
    allowed: codec.allowed,
    doc,
    maxLength,
    sectionField,
    parse: (raw) => codec.parse(raw),
    render: (value) => codec.render(value as EndpointConfig[S][F]),
  };
}

/**
 * Longest value of a key, in characters, unless its row says otherwise. Every
 * value ends up in the store, in events and in nginx or Docker settings, and
 * a request may carry up to a megabyte: without a limit one 900 KB image name
 * is copied into every decision, event and response that mentions it.
 */
export const DEFAULT_MAX_LENGTH = 1024;
/** Most scaling rules of one endpoint; every round evaluates each, and every decision records each. */
export const MAX_RULES = 50;

/** Scaling rules: checked by the scaling calculator's own parser, kept exactly as written. */
const rules: Codec<string> = {
  allowed: `empty (no rules), or up to ${MAX_RULES} comma-separated rules "[L op] metric [op U]" with op < or <=, e.g. "20<=rate<=50,100<=response<800"`,
  parse(raw) {
    if (raw === '') return raw;
    const count = raw.split(',').length;
    if (count > MAX_RULES) throw new ValueProblem(`has ${count} rules, more than the limit of ${MAX_RULES}`, { limit: MAX_RULES });
    try {
      parseRules(raw);
    } catch (error) {
      if (!isReactorError(error)) throw error;
      throw new ValueProblem(`is not valid: ${error.message}`, error.details);
    }
    return raw;
  },
  render: (v) => v,
};

/** A command run without a shell: shell operators, which would fail at every launch, are refused here. */
const command: Codec<string> = {
  allowed: "empty (the image's command), or a command split like a shell would, without pipes, &&, ;, redirections or & (use sh -c '…')",
  parse(raw) {
    const operator = shellOperator(raw);
    if (operator !== null) {
      throw new ValueProblem(`uses the shell operator "${operator}", but the command is not run by a shell; write it as sh -c '…' if the image has a shell`, {
        operator,
      });
    }
    return raw;
  },
  render: (v) => v,
};

const port = integer(1, 65535);
const SAFE_PATH = /^\/[A-Za-z0-9._~%!$&()*+,=:@/?-]*$/;
const FILE_PATH = /^\/[A-Za-z0-9._~%+,=:@/-]*$/;

/**
 * Every key, in rendering order. Defaults are written as INI text and go
 * through the codec like any user value, so a default can never be a value
 * the parser would refuse.
 */
const OPTIONS: readonly OptionSpec[] = [
  // [endpoint]
  option('endpoint', 'url', 'url', endpointUrl, 'http://', 'Public URL: http://[host][:port][/path]; http:// alone is the default server on port 80.', 2048),
  option('endpoint', 'cloud', 'cloud', oneOf(['docker'] as const), 'docker', 'Where instances run.'),
  option('endpoint', 'loadbalancer', 'loadbalancer', oneOf(['nginx', 'none'] as const), 'nginx', 'What balances requests across instances (none = instances only).'),
  option('endpoint', 'port', 'port', port, '80', 'Backend port inside the container.'),
  option('endpoint', 'weight', 'weight', integer(1), '1', 'Relative weight when several endpoints share one URL.'),
  option('endpoint', 'static_instances', 'staticInstances', hostPortList, '', 'Fixed backends (host:port, comma-separated) served besides the managed instances.', 4096),
  option('endpoint', 'health_path', 'healthPath', pattern(SAFE_PATH, 'an HTTP path starting with "/"'), '', 'HTTP path probed for readiness; empty = "/" (any HTTP answer counts: Docker\'s proxy accepts TCP before the app listens).'),
  option('endpoint', 'decommissioned_timeout', 'decommissionedTimeout', integer(0), '60', 'Seconds an instance drains after leaving the balancer before it is deleted.'),
  option('endpoint', 'unregistered_timeout', 'unregisteredTimeout', integer(1), '120', 'Seconds a new instance may take to become ready before it is marked errored.'),
  option('endpoint', 'error_marks', 'errorMarks', integer(1), '3', 'Consecutive failed checks after which an instance is replaced.'),
  // [scaling]
  option('scaling', 'min_instances', 'minInstances', integer(0), '1', 'Fewest instances kept while RUNNING.'),
  option('scaling', 'max_instances', 'maxInstances', integer(0), '1', 'Most instances ever run.'),
  option('scaling', 'rules', 'rules', rules, '', 'Scaling rules, kept as written; empty = hold at min_instances.', 4096),
  option('scaling', 'ramp_limit', 'rampLimit', integer(1), '5', 'Most launches or decommissions per evaluation round.'),
  option('scaling', 'hold_queue', 'holdQueue', integer(0, 100_000), '100', 'Requests held while no instance serves (min_instances=0), per endpoint and host; more get 503 with Retry-After; 0 = none held (502 or redirect).'),
  option('scaling', 'burst_reaction', 'burstReaction', boolean, 'true', 'Run a scale-up round at once when the last second of traffic outgrows the instances (false: scale-up waits for the interval, as a replay assumes).'),
  option('scaling', 'hold_timeout', 'holdTimeout', integer(1, 300), '30', 'Seconds a held request waits for the first instance before it gets 504.'),
  // [cloud:docker]
  option('docker', 'image', 'image', pattern(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'a Docker image id or name'), '', 'Image id or name each instance runs (required).', 512),
  option('docker', 'command', 'command', command, '', "Command to run in the image, without a shell; empty = the image's own.", 4096),
  option('docker', 'slots', 'slots', integer(1), '1', 'Scheduling slots one instance needs.'),
  option('docker', 'user', 'user', pattern(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'user[:group] (names or ids)'), '', "User the command runs as; empty = the image's."),
  option('docker', 'environment', 'environment', environment, '', 'Environment: KEY=value,OTHER=value.', 16384),
  option('docker', 'mem_limit', 'memLimit', memory, '0', 'Memory limit in bytes (k/m/g suffixes, 1024-based); 0 = none.'),
  option('docker', 'dns', 'dns', hostList, '', 'DNS servers for the container, comma-separated.'),
  option('docker', 'hostname', 'hostname', hostName, '', 'Host name inside the container; empty = Docker picks one.'),
  // [loadbalancer:nginx]
  option('nginx', 'sticky_sessions', 'stickySessions', boolean, 'false', 'Keep each client on one instance (consistent hashing on a reactor_sticky cookie nginx sets).'),
  option('nginx', 'keepalive', 'keepalive', integer(0), '0', 'Idle keepalive connections kept per upstream; 0 = none.'),
  option('nginx', 'keepalive_timeout', 'keepaliveTimeout', integer(1), '4', "Seconds an idle upstream keepalive connection is kept; keep it below the backend's own idle timeout (Node: 5 s), so nginx never reuses a connection the backend closed."),
  option('nginx', 'ssl', 'ssl', boolean, 'false', 'Serve TLS on the endpoint URL.'),
  option('nginx', 'ssl_certificate', 'sslCertificate', pattern(FILE_PATH, 'an absolute file path'), '', 'Certificate file (PEM) when ssl=true.'),
  option('nginx', 'ssl_key', 'sslKey', pattern(FILE_PATH, 'an absolute file path'), '', 'Private key file (PEM) when ssl=true.'),
  option('nginx', 'redirect', 'redirect', pattern(/^https?:\/\/[A-Za-z0-9._~%!&()*+,=:@/?-]+$/, 'an http:// or https:// URL'), '', 'Where clients are sent (301) when no instance is available; empty = 502.'),
];

/** Every key Reactor accepts, in rendering order, with its default and documentation. */
export const ENDPOINT_OPTIONS: readonly EndpointOption[] = OPTIONS.map(
  ({ section, key, field, default: def, allowed, doc, maxLength }) => ({ section, key, field, default: def, allowed, doc, maxLength }),
);

// ---------------------------------------------------------------- lookups and errors

function keysOf(section: string): string[] {
  return OPTIONS.filter((o) => o.section === section).map((o) => o.key);
}

function findOption(section: string, key: string, line?: number): OptionSpec {
  const where = line === undefined ? '' : `line ${line}: `;
  if (!ENDPOINT_SECTIONS.includes(section)) {
    throw badInput(
      `${where}unknown section [${section}]; allowed sections: ${ENDPOINT_SECTIONS.map((s) => `[${s}]`).join(', ')}`,
      { section, ...(key === '' ? {} : { key }), allowed: ENDPOINT_SECTIONS, ...(line === undefined ? {} : { line }) },
    );
  }
  const spec = OPTIONS.find((o) => o.section === section && o.key === key);
  if (!spec) {
    throw badInput(`${where}unknown key [${section}] ${key}; allowed keys in [${section}]: ${keysOf(section).join(', ')}`, {
      section,
      key,
      allowed: keysOf(section),
      ...(line === undefined ? {} : { line }),
    });
  }
  return spec;
}

/** Longest part of a value quoted back in an error: a refused 900 KB value must not come back whole. */
const QUOTED_VALUE_LIMIT = 80;

/** The value as an error quotes it: whole when short, else its start and its length. */
function quoted(value: string): string {
  if (value.length <= QUOTED_VALUE_LIMIT) return `"${value}"`;
  return `"${value.slice(0, QUOTED_VALUE_LIMIT)}…" (${value.length} characters)`;
}

function valueError(spec: Pick<OptionSpec, 'section' | 'key' | 'allowed'>, value: string, problem: ValueProblem, line?: number): ReactorError {
  const where = line === undefined ? '' : `line ${line}: `;
  return badInput(`${where}[${spec.section}] ${spec.key}: ${quoted(value)} ${problem.reason}; allowed: ${spec.allowed}`, {
    ...problem.details,
    section: spec.section,
    key: spec.key,
    value: value.length <= QUOTED_VALUE_LIMIT ? value : `${value.slice(0, QUOTED_VALUE_LIMIT)}…`,
    allowed: spec.allowed,
    ...(line === undefined ? {} : { line }),
  });
}

/** Runs one key's codec, turning a ValueProblem into a BAD_USER_INPUT that names section, key and value. */
function parseValue(spec: OptionSpec, raw: string, line?: number): unknown {
  if (raw.length > spec.maxLength) {
    throw valueError(spec, raw, new ValueProblem(`is longer than ${spec.maxLength} characters, the limit of [${spec.section}] ${spec.key}`, { limit: spec.maxLength }), line);
  }
  try {
    return spec.parse(raw);
  } catch (error) {
    if (error instanceof ValueProblem) throw valueError(spec, raw, error, line);
    throw error;
  }
}

function read(config: EndpointConfig, spec: OptionSpec): unknown {
  return (config[spec.sectionField] as unknown as Record<string, unknown>)[spec.field];
}

function write(config: EndpointConfig, spec: OptionSpec, value: unknown): void {
  (config[spec.sectionField] as unknown as Record<string, unknown>)[spec.field] = value;
}

/** The checks that involve more than one key. */
function checkAcrossKeys(config: EndpointConfig): EndpointConfig {
  const { minInstances, maxInstances } = config.scaling;
  if (minInstances > maxInstances) {
    throw badInput(
      `[scaling] min_instances (${minInstances}) is greater than [scaling] max_instances (${maxInstances}); allowed: min_instances <= max_instances (max_instances defaults to 1)`,
      { section: 'scaling', key: 'min_instances', keys: ['min_instances', 'max_instances'], minInstances, maxInstances },
    );
  }
  if (config.endpoint.cloud === 'docker' && config.docker.image === '') {
    throw badInput('[cloud:docker] image is required: a docker endpoint needs the image its instances run; allowed: a Docker image id or name', {
      section: 'cloud:docker',
      key: 'image',
    });
  }
  return config;
}

// ---------------------------------------------------------------- public API

/**
 * Every key at its default. Not a valid configuration by itself: `image` is
 * empty, and a docker endpoint needs one.
 */
export function defaultEndpointConfig(): EndpointConfig {
  const config = { endpoint: {}, scaling: {}, docker: {}, nginx: {} } as EndpointConfig;
  for (const spec of OPTIONS) write(config, spec, spec.parse(spec.default));
  return config;
}

/**
 * Parses Reactor INI text into a complete, validated configuration: keys not
 * given take their defaults; any unknown or repeated section or key, bad
 * value, or min_instances > max_instances is a BAD_USER_INPUT.
 */
export function parseEndpointConfig(text: string): EndpointConfig {
  const config = defaultEndpointConfig();
  for (const section of parseIni(text).sections) {
    if (!ENDPOINT_SECTIONS.includes(section.name)) findOption(section.name, '', section.line);
    for (const entry of section.entries) {
      const spec = findOption(section.name, entry.key, entry.line);
      write(config, spec, parseValue(spec, entry.value, entry.line));
    }
  }
  return checkAcrossKeys(config);
}

/**
 * Checks a typed configuration that did not come from `parseEndpointConfig`
 * (a GraphQL input, a stored document): every value goes through its key's
 * codec, then the checks across keys. Returns a fresh, normalised copy.
 */
export function validateEndpointConfig(config: EndpointConfig): EndpointConfig {
  const copy = defaultEndpointConfig();
  for (const spec of OPTIONS) {
    let rendered: string;
    try {
      rendered = spec.render(read(config, spec));
    } catch {
      throw valueError(spec, String(read(config, spec)), new ValueProblem('has the wrong type'));
    }
    if (!isIniSafeValue(rendered)) {
      throw valueError(spec, rendered, new ValueProblem('cannot be written on one INI line (line break, surrounding spaces or " #")'));
    }
    write(copy, spec, parseValue(spec, rendered));
  }
  return checkAcrossKeys(copy);
}

/**
 * Canonical INI: the four sections and every key, in table order (the order
 * of DESIGN.md's example, with the extra [endpoint] keys after `port` and
 * `ssl_certificate`/`ssl_key` after `ssl`), one blank line between sections,
 * no comments. `parseEndpointConfig(renderEndpointConfig(c))` deep-equals `c`.
 */
export function renderEndpointConfig(config: EndpointConfig): string {
  return renderIni(
    ENDPOINT_SECTIONS.map((name) => ({
      name,
      entries: OPTIONS.filter((o) => o.section === name).map((spec) => ({ key: spec.key, value: spec.render(read(config, spec)) })),
    })),
  );
}

/** The bare INI value of one key, exactly as `renderEndpointConfig` writes it (`reactor get NAME scaling rules`). */
export function getEndpointOption(config: EndpointConfig, section: string, key: string): string {
  const spec = findOption(section, key);
  return spec.render(read(config, spec));
}

/**
 * A new configuration with one key changed (`reactor set NAME SECTION KEY VALUE`).
 * The value is trimmed and checked exactly as in a file, then the whole result
 * is validated; on any error nothing changes (the input is never mutated).
 */
export function setEndpointOption(config: EndpointConfig, section: string, key: string, value: string): EndpointConfig {
  const spec = findOption(section, key);
  const raw = value.trim();
  if (!isIniSafeValue(raw)) {
    throw valueError(spec, value, new ValueProblem('cannot be written on one INI line (it holds a line break or " #", which starts a comment)'));
  }
  const next = structuredClone(config);
  write(next, spec, parseValue(spec, raw));
  return validateEndpointConfig(next);
}

/**
 * The parts of an endpoint URL with defaults filled in: scheme, host ('' =
 * the default server), port (80 for http, 443 for https) and path ('/').
 * Throws BAD_USER_INPUT naming `[endpoint] url`.
 */
export function parseEndpointUrl(url: string): EndpointUrl {
  try {
    return readEndpointUrl(url.trim());
  } catch (error) {
    if (error instanceof ValueProblem) throw valueError(findOption('endpoint', 'url'), url, error);
    throw error;
  }
}
