// The `reactor` command: a GraphQL client for every operator action, plus the `server` process itself.
import { Command, CommanderError, Option } from 'commander';
import { CliError, GraphQLClient } from './client.js';
import { isoSeconds, table } from './format.js';
import { addEndpointCommands } from './endpoint-commands.js';
import { parseWhole } from './parse.js';
import { addProcessCommands } from './process-commands.js';
import { addServerCommand, resolveApiKey } from './server-command.js';
import { registerReplayCommands } from './replay.js';

const DEFAULT_API = 'http://127.0.0.1:8080/graphql';

interface GlobalOptions {
  api: string;
  apiKey?: string;
  json?: boolean;
}

export function buildProgram(write: (text: string) => void = (text) => process.stdout.write(text)): Command {
  const program = new Command('reactor');
  const out = (value: unknown) => write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);

  program
    .description('Reactor: elastic load balancing and scaling for Docker containers, driven through GraphQL')
    .addOption(new Option('--api <url>', 'GraphQL API URL').env('REACTOR_API').default(DEFAULT_API))
    .addOption(new Option('--api-key-file <file>', 'file holding the API key (sent as X-Auth-Key)').env('REACTOR_API_KEY_FILE'))
    .addOption(new Option('--api-key <key>', 'API key (visible in ps: prefer --api-key-file or REACTOR_API_KEY)').env('REACTOR_API_KEY'))
    .option('--json', 'print structured JSON instead of text')
    .showHelpAfterError()
    .exitOverride();

  const globals = () => program.opts<GlobalOptions>();
  let apiKey: { value: string | undefined } | undefined;
  const key = () => (apiKey ??= { value: resolveApiKey(program, (line) => process.stderr.write(`${line}\n`)) }).value;
  const client = () => new GraphQLClient({ api: globals().api, apiKey: key() });
  const request = <T>(query: string, variables?: Record<string, unknown>) => client().request<T>(query, variables);

  addServerCommand(program);
  addProcessCommands(program, write);
  addEndpointCommands(program, {
    request,
    out,
    warn: (text) => process.stderr.write(`${text}\n`),
    json: () => Boolean(globals().json),
    formatMetrics,
  });

  program
    .command('version')
    .description("print the server's version")
    .action(async () => {
      const data = await request<{ version: string }>('{ version }');
      out(globals().json ? data : data.version);
    });

  program
    .command('managers')
    .description('list managers (hosts) and their slots')
    .action(async () => {
      const data = await request<{
        managers: { id: string; name: string; address: string; slots: number; usedSlots: number; problems: string[]; lastSeen: string; status: string }[];
        controller: { holder: string; term: number; expiresAt: string } | null;
      }>('{ managers { id name address slots usedSlots clouds loadbalancers problems lastSeen status } controller { holder term expiresAt } }');
      const leader = data.controller?.holder;
      if (globals().json) return out(data.managers.map((m) => ({ ...m, controller: m.name === leader })));
      out(
        table(
          ['ID', 'NAME', 'ADDRESS', 'STATUS', 'SLOTS', 'USED', 'LAST SEEN', 'PROBLEMS'],
          data.managers.map((m) => [m.id, m.name + (m.name === leader ? ' (controller)' : ''), m.address, m.status, m.slots, m.usedSlots, isoSeconds(m.lastSeen), m.problems.join('; ') || '-']),
        ),
      );
      out(data.controller ? `controller: ${data.controller.holder} (term ${data.controller.term})` : 'controller: none yet');
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
          idealMin idealMax targetMin targetMax target conflict noData rules { rule metric min max noData } } }`,
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
        rules: { rule: string; metric: string; min: number; max: number | null; noData: boolean }[];
        noData: string[];
      };
      if (globals().json) return out(result);
      const bound = (value: number | null) => (value === null ? '∞' : String(value));
      const lines = result.rules.map((r) => `${r.rule.padEnd(24)} ${r.noData ? `no data for ${r.metric} (left out)` : `${r.min}..${bound(r.max)}`}`);
      lines.push(`ideal ${result.idealMin}..${bound(result.idealMax)}${result.conflict ? ' (conflict: current count kept)' : ''}`);
      lines.push(`clamped ${result.targetMin}..${result.targetMax} → target ${result.target}`);
      out(lines.join('\n'));
    });

  registerReplayCommands(program, { request, out, json: () => Boolean(globals().json) });

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
