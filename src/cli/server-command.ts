// `reactor server`: the flags of one Reactor process (api, controller, host) and its run until SIGTERM/SIGINT.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { parsePositive, parseWhole } from './parse.js';

interface ServerFlags {
  listen: string;
  dataDir: string;
  store?: string;
  name?: string;
  address?: string;
  docker?: string;
  dockerCertPath?: string;
  balancerAddress?: string;
  slots?: number;
  interval: number;
  agent: boolean;
  debug?: boolean;
}

export function addServerCommand(program: Command, apiKey: () => string | undefined): void {
  program
    .command('server')
    .description('run a Reactor server: the API, the controller and this host (its Docker engine and nginx)')
    .addOption(new Option('--listen <host:port>', 'address the API listens on').default('127.0.0.1:8080'))
    .addOption(
      new Option('--data-dir <dir>', 'data directory').env('REACTOR_DATA_DIR').default(join(homedir(), '.reactor')),
    )
    .option('--store <url>', 'sqlite:PATH or mongodb://… (default: sqlite in the data directory); several hosts share one mongodb://')
    .option('--name <name>', 'name of this host\'s manager (default: host name)')
    .option('--address <ip>', "this host's address: its containers' ports are published there and other hosts reach them there (default 127.0.0.1)")
    // DOCKER_HOST and DOCKER_CERT_PATH are read where the values are checked, so an error names the variable it came from.
    .option('--docker <url>', 'the Docker engine this host manages: unix:///PATH or tcp://HOST:PORT with TLS (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--docker-cert-path <dir>', 'ca.pem, cert.pem and key.pem for a tcp:// engine (default: DOCKER_CERT_PATH, else ~/.docker)')
    .option('--balancer-address <ip>', "address this host's nginx binds for endpoint URLs (default: every address)")
    .option('--slots <n>', 'slots this host offers', parseWhole('--slots'))
    .option('--interval <seconds>', 'seconds between evaluation rounds', parsePositive('--interval'), 10)
    .option('--no-agent', 'API and controller only: no host (no Docker engine, no nginx)')
    .option('--debug', 'include stack traces in API errors')
    .action(async (options: ServerFlags) => {
      const { startServer } = await import('../server/server.js');
      const server = await startServer({
        listen: options.listen,
        dataDir: options.dataDir,
        store: options.store,
        apiKey: apiKey(),
        debug: options.debug,
        name: options.name,
        address: options.address,
        docker: options.docker,
        dockerCertPath: options.dockerCertPath,
        balancerAddress: options.balancerAddress,
        slots: options.slots,
        interval: options.interval,
        agent: options.agent,
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(`reactor: ${signal}: shutting down\n`);
          server.close().then(resolve, (error: unknown) => {
            process.stderr.write(`reactor: shutdown failed: ${(error as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
