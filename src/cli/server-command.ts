// `reactor server`: the flags of one Reactor process (api, controller, host: listen, store, engine, key, guards, limits, retention) and its run until SIGTERM/SIGINT.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createLogger, LOG_LEVELS, parseLogLevel } from '../log/logger.js';
import { setClockOffset } from '../time/timers.js';
import { CliError } from './client.js';
import { pidFileLine, SERVER_PID_FILE } from './process-commands.js';

/**
 * Where the API key comes from, in order: `--api-key-file FILE` (or
 * REACTOR_API_KEY_FILE), REACTOR_API_KEY, then `--api-key` (kept for old
 * scripts, with a warning: every user of the machine sees it in `ps`).
 */
export function resolveApiKey(program: Command, warn: (line: string) => void): string | undefined {
  const options = program.opts<{ apiKey?: string; apiKeyFile?: string }>();
  if (options.apiKeyFile) {
    let text: string;
    try {
      text = readFileSync(options.apiKeyFile, 'utf8');
    } catch (error) {
      throw new CliError(`--api-key-file ${options.apiKeyFile}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const key = text.trim();
    if (key === '') throw new CliError(`--api-key-file ${options.apiKeyFile} is empty`);
    return key;
  }
  if (options.apiKey !== undefined && program.getOptionValueSource('apiKey') === 'cli') {
    warn('reactor: warning: --api-key is visible to every user of this machine (ps); use --api-key-file FILE or REACTOR_API_KEY');
  }
  return options.apiKey;
}

const LIMIT_FLAGS: [flag: string, field: string, what: string][] = [
  ['--max-depth <n>', 'maxDepth', 'deepest selection per operation (default 10)'],
  ['--max-aliases <n>', 'maxAliases', 'aliases per operation (default 15)'],
  ['--max-tokens <n>', 'maxTokens', 'tokens per GraphQL document (default 2000)'],
  ['--max-directives <n>', 'maxDirectives', 'directives per operation (default 50)'],
  ['--max-cost <n>', 'maxCost', 'GraphQL Armor cost per operation (default 5000)'],
  ['--max-page <n>', 'maxPage', 'largest limit of a list argument (default 1000)'],
  ['--max-response-bytes <n>', 'maxResponseBytes', 'largest response of one operation (default 16777216)'],
  ['--max-subscriptions <n>', 'maxSubscriptionsPerConnection', 'operations open on one WebSocket (default 25)'],
  ['--max-connections <n>', 'maxConnectionsPerClient', 'WebSockets open from one client address (default 32; see --max-connections-from)'],
];

function whole(flag: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError(`${flag} takes a whole number of at least 1, not ${JSON.stringify(value)}`);
    return Number(value);
  };
}

function positive(flag: string) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) throw new CliError(`${flag} takes a positive number of seconds, not ${JSON.stringify(value)}`);
    return number;
  };
}

function duration(flag: string) {
  return (value: string) => {
    const match = /^(\d+)\s*([smhd])?$/i.exec(value.trim());
    const seconds = match ? Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's').toLowerCase() as 's'] : NaN;
    if (!Number.isSafeInteger(seconds) || seconds < 60) throw new CliError(`${flag} takes a duration of at least 60s, such as 90m, 24h or 7d, not ${JSON.stringify(value)}`);
    return seconds;
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

export function addServerCommand(program: Command): void {
  const command = program
    .command('server')
    .description(
      'run a Reactor server: the API, the controller and this host (its Docker engine and nginx); on SIGTERM or Ctrl-C it stops, ' +
        'but nginx goes on serving every endpoint (the next server on this data directory adopts it) unless --stop-balancer-on-exit',
    )
    .addOption(new Option('--listen <host:port>', 'address the API listens on').default('127.0.0.1:8080'))
    .addOption(new Option('--data-dir <dir>', 'data directory').env('REACTOR_DATA_DIR').default(join(homedir(), '.reactor')))
    .option('--store <url>', 'sqlite:PATH or mongodb://… (default: sqlite in the data directory); several hosts share one mongodb://')
    .option('--name <name>', "name of this host's manager (default: host name)")
    .option('--address <ip>', "this host's address: its containers' ports are published there and other hosts reach them there (default 127.0.0.1)")
    // DOCKER_HOST and DOCKER_CERT_PATH are read where the values are checked, so an error names the variable it came from.
    .option('--docker <url>', 'the Docker engine this host manages: unix:///PATH or tcp://HOST:PORT with TLS (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--docker-cert-path <dir>', 'ca.pem, cert.pem and key.pem for a tcp:// engine (default: DOCKER_CERT_PATH, else ~/.docker)')
    .option('--balancer-address <ip>', "address this host's nginx binds for endpoint URLs (default: every address)")
    .option('--slots <n>', 'slots this host offers', whole('--slots'))
    .option('--interval <seconds>', 'seconds between evaluation rounds', positive('--interval'), 10)
    .option('--no-agent', 'API and controller only: no host (no Docker engine, no nginx)')
    .option('--allow-origin <origin>', 'a web origin whose pages may call the API (repeatable, or comma-separated)', collect)
    .option('--allow-host <name>', 'a host name clients may reach the server by, besides loopback and --listen (repeatable)', collect)
    .option(
      '--max-connections-from <range=n>',
      'WebSockets each address of an IP range may hold open instead of --max-connections: 10.0.0.5=512, 127.0.0.0/8=unlimited (repeatable)',
      collect,
    )
    .option('--instance-listen <addr>', "where containers reach the API with their tokens: auto (Docker's bridge gateway), HOST[:PORT] or none", 'auto')
    .option('--retain-samples <duration>', 'how long metric samples are kept (default 24h)', duration('--retain-samples'))
    .option('--retain-decisions <duration>', 'how long scaling decisions are kept (default 24h)', duration('--retain-decisions'))
    .option('--retain-events <duration>', 'how long endpoint events are kept (default 7d)', duration('--retain-events'))
    .option('--decision-every <n>', 'store an unchanged holding decision once every N rounds (default 60)', whole('--decision-every'))
    .option('--stop-balancer-on-exit', 'on SIGTERM or Ctrl-C stop nginx too (traffic to every endpoint stops)')
    .addOption(
      new Option('--log-level <level>', `least severe log level written (${LOG_LEVELS.join(', ')})`)
        .env('REACTOR_LOG_LEVEL')
        .default('info')
        .argParser(cliArg(parseLogLevel)),
    )
    .option('--debug', 'include stack traces in API errors')
    .addOption(
      // Test only, so hidden: servers on one machine whose clocks differ (test/cluster/clock-skew.test.ts).
      new Option('--test-clock-offset <ms>', "move this server's clock by MS milliseconds (negative: behind); for tests only").hideHelp().argParser(cliArg(parseOffset)),
    );
  for (const [flag, , what] of LIMIT_FLAGS) command.option(flag, what, whole(flag.split(' ')[0]));
  command.action(async (options) => {
    // Production semantics (graphql-ws and graphql-js read NODE_ENV) unless the operator says otherwise.
    process.env.NODE_ENV ??= 'production';
    const apiKey = resolveApiKey(program, (line) => process.stderr.write(`${line}\n`));
    const dataDir = resolve(options.dataDir as string);
    // A second server on this data directory is refused by the data directory's lock (startServer), naming the holder.
    if (options.testClockOffset) setClockOffset(options.testClockOffset as number);
    const log = createLogger({ level: options.logLevel });
    const lifecycle = log.child({ component: 'server' });
    const { startServer } = await import('../server/server.js');
    const limits = Object.fromEntries(LIMIT_FLAGS.map(([, field]) => [field, options[field]]).filter(([, value]) => value !== undefined));
    const server = await startServer({
      listen: options.listen,
      dataDir,
      store: options.store,
      apiKey,
      debug: options.debug,
      name: options.name,
      address: options.address,
      docker: options.docker,
      dockerCertPath: options.dockerCertPath,
      balancerAddress: options.balancerAddress,
      slots: options.slots,
      interval: options.interval,
      agent: options.agent,
      allowOrigins: options.allowOrigin,
      allowHosts: options.allowHost,
      maxConnectionsFrom: options.maxConnectionsFrom,
      instanceListen: options.instanceListen,
      retention: { samples: options.retainSamples, decisions: options.retainDecisions, events: options.retainEvents },
      decisionKeepEvery: options.decisionEvery,
      limits,
      keepBalancerOnExit: !options.stopBalancerOnExit,
      log,
    });
    mkdirSync(dataDir, { recursive: true });
    const pidFile = join(dataDir, SERVER_PID_FILE);
    writeFileSync(pidFile, pidFileLine());
    await new Promise<void>((done) => {
      const stop = (signal: string) => {
        lifecycle.info({ signal }, `${signal}: shutting down${options.stopBalancerOnExit ? ', nginx too' : '; nginx keeps serving'}`);
        // Our own timers are unref'd and nginx is not our child any more: without this, the process
        // could end half-way through the shutdown, as soon as the API stops listening.
        const keepAlive = setInterval(() => {}, 1000);
        server
          .close()
          .then(done, (error: unknown) => {
            lifecycle.error({ err: error }, `shutdown failed: ${(error as Error).message}`);
            process.exitCode = 1;
            done();
          })
          .finally(() => clearInterval(keepAlive));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    rmSync(pidFile, { force: true });
  });
}

/** Whole milliseconds, negative allowed. */
function parseOffset(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new Error(`--test-clock-offset takes whole milliseconds (e.g. -2000), not ${JSON.stringify(value)}`);
  return Number(value);
}

/** A commander argument parser from a function that throws a plain Error: the message becomes a CliError. */
function cliArg<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  };
}
