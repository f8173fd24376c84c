// The endpoint commands of the `reactor` CLI: list, manage, unmanage, show, get, set, start/stop/pause, state, instances, log, get-metrics, set-metrics.
import type { Command } from 'commander';
import { CliError } from './client.js';
import { isoSeconds, table } from './format.js';
import { parseWhole } from './parse.js';
import { readStdin } from './read-input.js';

/** What every command needs of the program: the API, the output, and whether --json was given. */
export interface CliContext {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** A line (a string) or JSON (anything else) on standard output. */
  out(value: unknown): void;
  /** A line on standard error, for warnings and notes that must not mix with output. */
  warn(text: string): void;
  json(): boolean;
  formatMetrics(metrics: Record<string, number>): string;
}

const ENDPOINT_FIELDS = `name state version configText createdAt updatedAt
  instances { id status address manager { id name } }`;

/**
 * The original Reactor put its own API behind its balancer as two endpoints,
 * and its walkthrough began by unmanaging them. Here the API is served by
 * `reactor server` itself, so these names are answered with a note.
 */
const ORIGINAL_API_ENDPOINTS = new Set(['apihttp', 'apihttps']);

interface Counts {
  running: number;
  wanted: number;
  pendingReason: string | null;
}

/** `1/1 running`, or `0/1 running; waiting: <the first pending reason>`. */
function countsText(counts: Counts): string {
  return `${counts.running}/${counts.wanted} running${counts.pendingReason ? `; waiting: ${counts.pendingReason}` : ''}`;
}

export function addEndpointCommands(program: Command, cli: CliContext): void {
  const { request, out } = cli;

  async function requireEndpoint(name: string, fields: string): Promise<Record<string, unknown>> {
    const data = await request<{ endpoint: Record<string, unknown> | null }>(`query($name: String!) { endpoint(name: $name) { ${fields} } }`, { name });
    if (!data.endpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
    return data.endpoint;
  }

  const warnAll = (warnings: string[] | undefined) => {
    for (const warning of warnings ?? []) cli.warn(`reactor: warning: ${warning}`);
  };

  program
    .command('list')
    .description('list endpoints: state, instances running of those wanted, URL, and why the first waiting instance waits')
    .action(async () => {
      const data = await request<{
        endpoints: { name: string; state: string; config: { endpoint: { url: string } }; counts: Counts }[];
      }>('{ endpoints { name state config { endpoint { url } } counts { running wanted pendingReason } } }');
      if (cli.json()) return out(data.endpoints);
      out(
        table(
          ['NAME', 'STATE', 'RUNNING', 'URL', 'WAITING'],
          data.endpoints.map((e) => [e.name, e.state, `${e.counts.running}/${e.counts.wanted}`, e.config.endpoint.url, e.counts.pendingReason]),
        ),
      );
    });

  program
    .command('manage <name>')
    .description('create or replace an endpoint from Reactor INI on standard input')
    .action(async (name: string) => {
      const config = await readStdin('the endpoint configuration');
      const data = await request<{ manageEndpoint: { name: string; state: string; version: number; warnings: string[] } }>(
        'mutation($name: String!, $config: String!) { manageEndpoint(name: $name, config: $config) { name state version warnings } }',
        { name, config },
      );
      warnAll(data.manageEndpoint.warnings);
      out(cli.json() ? data.manageEndpoint : `${data.manageEndpoint.name} ${data.manageEndpoint.state}`);
    });

  program
    .command('unmanage <name>')
    .description('remove an endpoint and its instances')
    .action(async (name: string) => {
      const data = await request<{ unmanageEndpoint: boolean }>('mutation($name: String!) { unmanageEndpoint(name: $name) }', { name });
      if (!data.unmanageEndpoint && ORIGINAL_API_ENDPOINTS.has(name)) {
        const note =
          `${name} is not an endpoint here: the original Reactor served its own API through its balancer as apihttp and apihttps; ` +
          'this Reactor serves its API from reactor server itself (--listen), so there is nothing to unmanage';
        return out(cli.json() ? { unmanaged: null, note } : note);
      }
      if (!data.unmanageEndpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
      if (cli.json()) out({ unmanaged: name });
    });

  program
    .command('show <name>')
    .description("print an endpoint's configuration (INI)")
    .action(async (name: string) => {
      const endpoint = await requireEndpoint(name, ENDPOINT_FIELDS);
      out(cli.json() ? endpoint : String(endpoint.configText).trimEnd());
    });

  program
    .command('get <name> <section> <key>')
    .description('print one configuration value, bare')
    .action(async (name: string, section: string, key: string) => {
      const endpoint = await requireEndpoint(name, 'configText');
      const { getEndpointOption, parseEndpointConfig } = await import('../config/index.js');
      const value = getEndpointOption(parseEndpointConfig(String(endpoint.configText)), section, key);
      out(cli.json() ? { name, section, key, value } : value);
    });

  program
    .command('set <name> <section> <key> <value>')
    .description("set one configuration value, e.g. set pyex scaling rules '0 < rate < 1' (a rule on a metric nobody reports is kept, with a warning)")
    .action(async (name: string, section: string, key: string, value: string) => {
      const data = await request<{ setEndpointOption: { name: string; version: number; warnings: string[] } }>(
        `mutation($name: String!, $section: String!, $key: String!, $value: String!) {
          setEndpointOption(name: $name, section: $section, key: $key, value: $value) { name version warnings } }`,
        { name, section, key, value },
      );
      warnAll(data.setEndpointOption.warnings);
      if (cli.json()) out(data.setEndpointOption);
    });

  for (const [command, state, description] of [
    ['start', 'RUNNING', 'start an endpoint (RUNNING); prints its new state'],
    ['stop', 'STOPPED', 'stop an endpoint and remove its instances (STOPPED); prints its new state'],
    ['pause', 'PAUSED', 'pause scaling of an endpoint, keeping its instances (PAUSED); prints its new state'],
  ] as const) {
    program
      .command(`${command} <name>`)
      .description(description)
      .action(async (name: string) => {
        const data = await request<{ setEndpointState: { name: string; state: string } }>(
          'mutation($name: String!, $state: EndpointState!) { setEndpointState(name: $name, state: $state) { name state } }',
          { name, state },
        );
        out(cli.json() ? data.setEndpointState : `${data.setEndpointState.name} ${data.setEndpointState.state}`);
      });
  }

  program
    .command('state <name>')
    .description("print an endpoint's state, then its instances running of those wanted and why the first waiting one waits, e.g. RUNNING 0/1 running; waiting: image … unavailable")
    .action(async (name: string) => {
      const endpoint = (await requireEndpoint(name, 'name state counts { running wanted pendingReason }')) as { state: string; counts: Counts };
      out(cli.json() ? endpoint : `${endpoint.state} ${countsText(endpoint.counts)}`);
    });

  program
    .command('instances <name>')
    .description("list an endpoint's instances: status, address, manager, and why (e.g. why one is pending)")
    .action(async (name: string) => {
      const endpoint = await requireEndpoint(name, 'instances { id status address slots reason containerId createdAt manager { id name } }');
      const instances = endpoint.instances as {
        id: string;
        status: string;
        address: string | null;
        reason: string | null;
        manager: { id: string; name: string } | null;
      }[];
      if (cli.json()) return out(instances);
      out(table(['ID', 'STATUS', 'ADDRESS', 'MANAGER', 'REASON'], instances.map((i) => [i.id, i.status, i.address, i.manager?.name, i.reason])));
    });

  program
    .command('log <name>')
    .description("print an endpoint's event log, oldest first (a failure that repeats is one line: ×count since its first time)")
    .option('--limit <n>', 'most recent events to print', parseWhole('--limit'), 100)
    .action(async (name: string, options: { limit: number }) => {
      const endpoint = await requireEndpoint(name, `events(limit: ${options.limit}) { id kind message at data }`).catch(async (error: unknown) => {
        // An unmanaged endpoint's log is still readable.
        if (!(error instanceof CliError) || error.code !== 'NOT_FOUND') throw error;
        const data = await request<{ events: unknown[] }>(
          'query($name: String!, $limit: Int) { events(endpoint: $name, limit: $limit) { id kind message at data } }',
          { name, limit: options.limit },
        );
        if (data.events.length === 0) throw error;
        return { events: data.events };
      });
      const events = endpoint.events as { kind: string; message: string; at: string; data: { repeated?: number; firstAt?: string } }[];
      if (cli.json()) return out(events);
      const repeated = (e: (typeof events)[number]) =>
        typeof e.data?.repeated === 'number' ? ` (×${e.data.repeated} since ${e.data.firstAt ? isoSeconds(e.data.firstAt) : '?'})` : '';
      out(events.map((e) => `${isoSeconds(e.at)}  ${e.kind.padEnd(18)}  ${e.message}${repeated(e)}`).join('\n'));
    });

  program
    .command('get-metrics <name>')
    .description('print the latest metric sample as one JSON object, e.g. {"active": 3.6, "rate": 33, "bytes": 396.1, "response": 2}, or why there is none yet')
    .action(async (name: string) => {
      const endpoint = (await requireEndpoint(name, 'state metrics { at instances metrics } counts { running wanted pendingReason }')) as {
        state: string;
        metrics: { at: string; instances: number; metrics: Record<string, number> } | null;
        counts: Counts;
      };
      const sample = endpoint.metrics;
      if (!sample) {
        const why = noSampleReason(name, endpoint.state, endpoint.counts);
        return out(cli.json() ? { endpoint: name, at: null, instances: 0, metrics: {}, why } : why);
      }
      if (cli.json()) return out({ endpoint: name, ...sample });
      out(cli.formatMetrics(sample.metrics));
    });

  program
    .command('set-metrics <name>')
    .description('set endpoint-wide custom metrics from JSON on standard input: {"name": [weight, value], …} ({} clears)')
    .action(async (name: string) => {
      const text = await readStdin('the custom metrics (JSON)');
      let metrics: unknown;
      try {
        metrics = JSON.parse(text);
      } catch (error) {
        throw new CliError(`standard input is not valid JSON: ${(error as Error).message}`, 'BAD_USER_INPUT');
      }
      await request<{ setCustomMetrics: boolean }>(
        'mutation($endpoint: String!, $metrics: JSON!) { setCustomMetrics(endpoint: $endpoint, metrics: $metrics) }',
        { endpoint: name, metrics },
      );
      if (cli.json()) out({ endpoint: name, metrics });
    });
}

/** Why `get-metrics` has nothing to print yet, in the operator's terms. */
export function noSampleReason(name: string, state: string, counts: Counts): string {
  const reasons: string[] = [];
  if (state !== 'RUNNING') reasons.push(`it is ${state}${state === 'PAUSED' ? ' (reactor start ' + name + ' runs it)' : ''}`);
  if (counts.running === 0) reasons.push(counts.pendingReason ? `no instance runs (waiting: ${counts.pendingReason})` : 'no instance runs');
  const because = reasons.length > 0 ? `; ${reasons.join(', and ')}, so there is no traffic to measure yet` : '';
  return `no sample yet for ${name}${because}; the first sample comes with the next evaluation (every --interval seconds of reactor server, 10 by default)`;
}
