// The `reactor` command: a GraphQL client for every operator action, plus the `server` process itself.
import { Command, CommanderError, Option } from 'commander';
import { CliError, GraphQLClient } from './client.js';
import { isoSeconds, table } from './format.js';
import { addProcessCommands, parseWhole } from './process-commands.js';
import { readStdin } from './read-input.js';

const DEFAULT_API = 'http://127.0.0.1:8080/graphql';

interface GlobalOptions {
  api: string;
  apiKey?: string;
  json?: boolean;
}

const ENDPOINT_FIELDS = `name state version configText createdAt updatedAt
  instances { id status address manager { id name } }`;

export function buildProgram(write: (text: string) => void = (text) => process.stdout.write(text)): Command {
  const program = new Command('reactor');
  const out = (value: unknown) => write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);

  program
    .description('Reactor: elastic load balancing and scaling for Docker containers, driven through GraphQL')
    .addOption(new Option('--api <url>', 'GraphQL API URL').env('REACTOR_API').default(DEFAULT_API))
    .addOption(new Option('--api-key <key>', 'API key sent as X-Auth-Key').env('REACTOR_API_KEY'))
    .option('--json', 'print structured JSON instead of text')
    .showHelpAfterError()
    .exitOverride();

  const globals = () => program.opts<GlobalOptions>();
  const client = () => new GraphQLClient({ api: globals().api, apiKey: globals().apiKey });
  const request = <T>(query: string, variables?: Record<string, unknown>) => client().request<T>(query, variables);

  addProcessCommands(program, () => globals().apiKey, write);

  program
    .command('version')
    .description("print the server's version")
    .action(async () => {
      const data = await request<{ version: string }>('{ version }');
      out(globals().json ? data : data.version);
    });

  program
    .command('list')
    .description('list endpoints')
    .action(async () => {
      const data = await request<{ endpoints: { name: string; state: string; config: { endpoint: { url: string } }; instances: unknown[] }[] }>(
        '{ endpoints { name state config { endpoint { url } } instances { id } } }',
      );
      if (globals().json) return out(data.endpoints);
      out(
        table(
          ['NAME', 'STATE', 'INSTANCES', 'URL'],
          data.endpoints.map((e) => [e.name, e.state, e.instances.length, e.config.endpoint.url]),
        ),
      );
    });

  program
    .command('manage <name>')
    .description('create or replace an endpoint from Reactor INI on standard input')
    .action(async (name: string) => {
      const config = await readStdin('the endpoint configuration');
      const data = await request<{ manageEndpoint: { name: string; state: string; version: number } }>(
        'mutation($name: String!, $config: String!) { manageEndpoint(name: $name, config: $config) { name state version } }',
        { name, config },
      );
      out(globals().json ? data.manageEndpoint : `${data.manageEndpoint.name} ${data.manageEndpoint.state}`);
    });

  program
    .command('unmanage <name>')
    .description('remove an endpoint and its instances')
    .action(async (name: string) => {
      const data = await request<{ unmanageEndpoint: boolean }>(
        'mutation($name: String!) { unmanageEndpoint(name: $name) }',
        { name },
      );
      if (!data.unmanageEndpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
      if (globals().json) out({ unmanaged: name });
    });

  program
    .command('show <name>')
    .description("print an endpoint's configuration (INI)")
    .action(async (name: string) => {
      const endpoint = await requireEndpoint(name, ENDPOINT_FIELDS);
      out(globals().json ? endpoint : String(endpoint.configText).trimEnd());
    });

  program
    .command('get <name> <section> <key>')
    .description('print one configuration value, bare')
    .action(async (name: string, section: string, key: string) => {
      const endpoint = await requireEndpoint(name, 'configText');
      const { getEndpointOption, parseEndpointConfig } = await import('../config/index.js');
      const value = getEndpointOption(parseEndpointConfig(String(endpoint.configText)), section, key);
      out(globals().json ? { name, section, key, value } : value);
    });

  program
    .command('set <name> <section> <key> <value>')
    .description("set one configuration value, e.g. set pyex scaling rules '0 < rate < 1'")
    .action(async (name: string, section: string, key: string, value: string) => {
      const data = await request<{ setEndpointOption: { name: string; version: number } }>(
        `mutation($name: String!, $section: String!, $key: String!, $value: String!) {
          setEndpointOption(name: $name, section: $section, key: $key, value: $value) { name version } }`,
        { name, section, key, value },
      );
      if (globals().json) out(data.setEndpointOption);
    });

  for (const [command, state, description] of [
    ['start', 'RUNNING', 'start an endpoint (RUNNING)'],
    ['stop', 'STOPPED', 'stop an endpoint and remove its instances (STOPPED)'],
    ['pause', 'PAUSED', 'pause scaling of an endpoint, keeping its instances (PAUSED)'],
  ] as const) {
    program
      .command(`${command} <name>`)
      .description(description)
      .action(async (name: string) => {
        const data = await request<{ setEndpointState: { name: string; state: string } }>(
          'mutation($name: String!, $state: EndpointState!) { setEndpointState(name: $name, state: $state) { name state } }',
          { name, state },
        );
        if (globals().json) out(data.setEndpointState);
      });
  }

  program
    .command('state <name>')
    .description("print an endpoint's state")
    .action(async (name: string) => {
      const endpoint = await requireEndpoint(name, 'name state');
      out(globals().json ? endpoint : String(endpoint.state));
    });

  program
    .command('instances <name>')
    .description("list an endpoint's instances: status, address, manager, and why (e.g. why one is pending)")
    .action(async (name: string) => {
      const endpoint = await requireEndpoint(
        name,
        'instances { id status address slots reason containerId createdAt manager { id name } }',
      );
      const instances = endpoint.instances as {
        id: string;
        status: string;
        address: string | null;
        reason: string | null;
        manager: { id: string; name: string } | null;
      }[];
      if (globals().json) return out(instances);
      out(
        table(
          ['ID', 'STATUS', 'ADDRESS', 'MANAGER', 'REASON'],
          instances.map((i) => [i.id, i.status, i.address, i.manager?.name, i.reason]),
        ),
      );
    });

  program
    .command('managers')
    .description('list managers (hosts) and their slots')
    .action(async () => {
      const data = await request<{
        managers: { id: string; name: string; address: string; slots: number; usedSlots: number; problems: string[]; lastSeen: string }[];
      }>('{ managers { id name address slots usedSlots clouds loadbalancers problems lastSeen } }');
      if (globals().json) return out(data.managers);
      out(
        table(
          ['ID', 'NAME', 'ADDRESS', 'SLOTS', 'USED', 'LAST SEEN', 'PROBLEMS'],
          data.managers.map((m) => [m.id, m.name, m.address, m.slots, m.usedSlots, isoSeconds(m.lastSeen), m.problems.join('; ') || '-']),
        ),
      );
    });

  program
    .command('set-manager <id> <key> <value>')
    .description('set one manager option, e.g. set-manager ID slots 20')
    .action(async (id: string, key: string, value: string) => {
      const data = await request<{ setManagerOption: { id: string; slots: number } }>(
        'mutation($id: ID!, $key: String!, $value: String!) { setManagerOption(id: $id, key: $key, value: $value) { id slots } }',
        { id, key, value },
      );
      if (globals().json) out(data.setManagerOption);
    });

  program
    .command('log <name>')
    .description("print an endpoint's event log, oldest first")
    .option('--limit <n>', 'most recent events to print', parseWhole('--limit'), 100)
    .action(async (name: string, options: { limit: number }) => {
      const endpoint = await requireEndpoint(name, `events(limit: ${options.limit}) { id kind message at data }`).catch(
        async (error: unknown) => {
          // An unmanaged endpoint's log is still readable.
          if (!(error instanceof CliError) || error.code !== 'NOT_FOUND') throw error;
          const data = await request<{ events: unknown[] }>(
            'query($name: String!, $limit: Int) { events(endpoint: $name, limit: $limit) { id kind message at data } }',
            { name, limit: options.limit },
          );
          if (data.events.length === 0) throw error;
          return { events: data.events };
        },
      );
      const events = endpoint.events as { kind: string; message: string; at: string }[];
      if (globals().json) return out(events);
      out(events.map((e) => `${isoSeconds(e.at)}  ${e.kind.padEnd(18)}  ${e.message}`).join('\n'));
    });

  program
    .command('watch <name>')
    .description("follow an endpoint live: its instances, latest sample and latest decision (one line per update when not on a terminal; --json: one object per update)")
    .action(async (name: string) => {
      const { watchEndpoint } = await import('./watch.js');
      // Ctrl-C (or SIGTERM) ends the watch cleanly: subscriptions closed, exit code 0.
      const until = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await watchEndpoint({
        graphql: client(),
        name,
        write,
        redraw: Boolean(process.stdout.isTTY) && !globals().json,
        json: Boolean(globals().json),
        formatMetrics,
        until,
      });
    });

  program
    .command('evaluate')
    .description('what the autoscaler would do with these numbers (the same calculation as the control loop)')
    .requiredOption('--rules <rules>', "scaling rules, e.g. '0 < rate < 1'")
    .requiredOption('--metrics <json>', 'per-instance averages as JSON, e.g. \'{"rate": 33}\'')
    .requiredOption('--instances <n>', 'instances that reported (= current count)', parseWhole('--instances'))
    .option('--min <n>', 'min_instances', parseWhole('--min'), 1)
    .option('--max <n>', 'max_instances', parseWhole('--max'), 1)
    .action(async (options: { rules: string; metrics: string; instances: number; min: number; max: number }) => {
      let metrics: unknown;
      try {
        metrics = JSON.parse(options.metrics);
      } catch (error) {
        throw new CliError(`--metrics is not valid JSON: ${(error as Error).message}`, 'BAD_USER_INPUT');
      }
      const data = await request<{ evaluateScaling: Record<string, unknown> }>(
        `query($input: ScalingEvaluationInput!) { evaluateScaling(input: $input) {
          idealMin idealMax targetMin targetMax target conflict rules { rule metric min max } } }`,
        {
          input: {
            rules: [options.rules],
            metrics,
            instances: options.instances,
            minInstances: options.min,
            maxInstances: options.max,
          },
        },
      );
      const result = data.evaluateScaling as {
        idealMin: number; idealMax: number | null; targetMin: number; targetMax: number; target: number; conflict: boolean;
        rules: { rule: string; metric: string; min: number; max: number | null }[];
      };
      if (globals().json) return out(result);
      const bound = (value: number | null) => (value === null ? '∞' : String(value));
      const lines = result.rules.map((r) => `${r.rule.padEnd(24)} ${r.min}..${bound(r.max)}`);
      lines.push(`ideal ${result.idealMin}..${bound(result.idealMax)}${result.conflict ? ' (conflict: current count kept)' : ''}`);
      lines.push(`clamped ${result.targetMin}..${result.targetMax} → target ${result.target}`);
      out(lines.join('\n'));
    });

  program
    .command('get-metrics <name>')
    .description('print the latest metric sample as one JSON object, e.g. {"active": 3.6, "rate": 33, "bytes": 396.1, "response": 2}')
    .action(async (name: string) => {
      const endpoint = await requireEndpoint(name, 'metrics { at instances metrics }');
      const sample = endpoint.metrics as { at: string; instances: number; metrics: Record<string, number> } | null;
      if (globals().json) return out({ endpoint: name, ...(sample ?? { at: null, instances: 0, metrics: {} }) });
      out(formatMetrics(sample?.metrics ?? {}));
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
      if (globals().json) out({ endpoint: name, metrics });
    });

  async function requireEndpoint(name: string, fields: string): Promise<Record<string, unknown>> {
    const data = await request<{ endpoint: Record<string, unknown> | null }>(
      `query($name: String!) { endpoint(name: $name) { ${fields} } }`,
      { name },
    );
    if (!data.endpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
    return data.endpoint;
  }

  return program;
}

/** Built-in metrics first, in the documented order, then custom ones by name; numbers rounded to 3 decimals. */
export function formatMetrics(metrics: Record<string, number>): string {
  const order = ['active', 'rate', 'bytes', 'response', 'pending', 'errors'];
  const names = [
    ...order.filter((name) => name in metrics),
    ...Object.keys(metrics).filter((name) => !order.includes(name)).sort(),
  ];
  const parts = names.map((name) => `${JSON.stringify(name)}: ${Math.round(metrics[name] * 1000) / 1000}`);
  return `{${parts.join(', ')}}`;
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it in-process. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the usage problem (or the help/version text).
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`reactor: ${message.split('\n')[0]}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}
