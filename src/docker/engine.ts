// Which Docker engine a host manages (`--docker unix:///…|tcp://host:port`, else DOCKER_HOST, else the local socket) and a dockerode client for it.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';
import { badInput } from '../errors/codes.js';

/** The engine's socket when neither `--docker` nor DOCKER_HOST names one (the docker CLI's default on Linux). */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
/** The port of a `tcp://` engine that names none: the TLS port, as the docker CLI assumes with TLS. */
export const DEFAULT_DOCKER_TLS_PORT = 2376;
/** The files of a TLS cert directory, as the docker CLI reads them. */
export const CERT_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export type DockerEngine =
  | { kind: 'unix'; url: string; socketPath: string }
  | {
      kind: 'tcp';
      url: string;
      host: string;
      port: number;
      /** ca.pem (verifies the engine), cert.pem and key.pem (this host's client certificate). */
      certPath: string;
    };

/** The environment variables the docker CLI reads for its engine. */
export interface DockerEnv {
  DOCKER_HOST?: string;
  DOCKER_CERT_PATH?: string;
  HOME?: string;
}

export interface ParseDockerEngineOptions {
  /** `--docker-cert-path`; else DOCKER_CERT_PATH; else ~/.docker. */
  certPath?: string;
  env?: DockerEnv;
}

const ACCEPTED = 'unix:///PATH/TO/docker.sock or tcp://HOST:PORT';

/**
 * What `--docker` names, without touching the machine. With no value,
 * DOCKER_HOST is used, else the local socket. `tcp://` always means TLS, as
 * the docker CLI with DOCKER_TLS_VERIFY=1: the engine's certificate is
 * checked against ca.pem and this host shows cert.pem/key.pem. Reactor never
 * talks to an engine over plain TCP: whoever reaches that port owns the host.
 * Fails with BAD_USER_INPUT naming the flag (or DOCKER_HOST) and the value.
 */
export function parseDockerEngine(value: string | undefined, options: ParseDockerEngineOptions = {}): DockerEngine {
  const env = options.env ?? process.env;
  const source = value !== undefined ? '--docker' : env.DOCKER_HOST ? 'DOCKER_HOST' : undefined;
  const raw = (value ?? env.DOCKER_HOST ?? `unix://${DEFAULT_DOCKER_SOCKET}`).trim();
  const fail = (why: string) =>
    badInput(`${source ?? '--docker'} ${JSON.stringify(raw)} ${why}; use ${ACCEPTED}`, { field: 'docker', value: raw });

  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw fail('does not name an absolute socket path (unix:// takes three slashes)');
    return { kind: 'unix', url: `unix://${socketPath}`, socketPath };
  }
  if (raw.startsWith('tcp://')) {
    const match = /^tcp:\/\/(\[[^\]\s]*\]|[^:/\s[\]]+)(?::(\d{1,5}))?\/?$/.exec(raw);
    if (!match) throw fail('is not tcp://HOST:PORT');
    const host = match[1]!.replace(/^\[|\]$/g, '');
    if (match[1]!.startsWith('[') && isIP(host) !== 6) throw fail(`names "${host}", which is not an IPv6 address`);
    const port = match[2] === undefined ? DEFAULT_DOCKER_TLS_PORT : Number(match[2]);
    if (port < 1 || port > 65535) throw fail(`names port ${port}, outside 1-65535`);
    const certPath = options.certPath ?? env.DOCKER_CERT_PATH ?? join(env.HOME ?? '~', '.docker');
    if (certPath.trim() === '') throw badInput('--docker-cert-path is empty; name the directory holding ca.pem, cert.pem and key.pem');
    const hostForUrl = isIP(host) === 6 ? `[${host}]` : host;
    return { kind: 'tcp', url: `tcp://${hostForUrl}:${port}`, host, port, certPath };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1];
  throw fail(scheme ? `uses ${scheme}://, which Reactor does not support` : 'is not a URL');
}

/**
 * A dockerode client for the engine. For tcp:// it reads the cert directory
 * now and fails with BAD_USER_INPUT naming the missing or unreadable file.
 * Every connection setting is given explicitly, so DOCKER_HOST cannot
 * override an engine named by `--docker` (dockerode merges it in otherwise).
 */
export function dockerClient(engine: DockerEngine): Docker {
  if (engine.kind === 'unix') {
    return new Docker({ socketPath: engine.socketPath, host: undefined, port: undefined, protocol: 'http', ca: undefined, cert: undefined, key: undefined });
  }
  const read = (file: string) => {
    const path = join(engine.certPath, file);
    try {
      return readFileSync(path);
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
      throw badInput(
        `--docker ${engine.url} uses TLS, but ${path} ${why}: put ca.pem, cert.pem and key.pem in that directory, ` +
          'or name another with --docker-cert-path or DOCKER_CERT_PATH',
        { field: 'docker-cert-path', file: path },
      );
    }
  };
  return new Docker({
    socketPath: undefined,
    protocol: 'https',
    host: engine.host,
    port: engine.port,
    ca: read(CERT_FILES.ca),
    cert: read(CERT_FILES.cert),
    key: read(CERT_FILES.key),
  });
}
