// The local docker agent: the Agent contract on dockerode — launch, remove, list its labelled containers, watch engine events.
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { Agent, AgentContainer, ContainerExit, ContainerSpec, LaunchedContainer } from '../agents/types.js';
import { LaunchError } from '../agents/types.js';
import { isReactorError } from '../errors/codes.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { probeDocker } from '../managers/probe.js';
import { buildCreateOptions, joinHostPort, Labels, publishedAddress, userErrorMessage } from './spec.js';

export interface DockerAgentOptions {
  managerId: string;
  /** Address published ports bind to and instances are reached on; default 127.0.0.1. */
  address?: string;
  /** dockerode client; default: the engine at DOCKER_HOST or /var/run/docker.sock. */
  docker?: Docker;
  /** The engine's URL (`unix:///…`, `tcp://…`) for messages; default DOCKER_HOST or the local socket. */
  engine?: string;
  /** Longest a pull may take before the image counts as unavailable. Default 120 s. */
  pullTimeoutMs?: number;
  /** Seconds `docker stop` waits before killing, on removal. Default 5 (with Init, a stop takes ≈ 0.1 s). */
  stopSeconds?: number;
  log?: Logger;
}

/** Engine actions that mean "this container no longer serves". */
const EXIT_ACTIONS = ['die', 'stop', 'oom', 'destroy'];
const EVENTS_RETRY_MS = [250, 500, 1000, 2000, 5000];

interface EngineError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

/** The engine's own words for a failure (dockerode wraps them in "(HTTP code …) … - message"). */
export function engineMessage(error: unknown): string {
  const failure = error as EngineError;
  const fromJson = failure?.json && typeof failure.json === 'object' ? failure.json.message : undefined;
  return (fromJson ?? failure?.message ?? String(error)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

function statusOf(error: unknown): number | undefined {
  return (error as EngineError)?.statusCode;
}

export class DockerAgent implements Agent {
  readonly managerId: string;
  readonly address: string;
  private readonly docker: Docker;
  private readonly engine: string | undefined;
  private readonly pullTimeoutMs: number;
  private readonly stopSeconds: number;
  private readonly log: Logger;
  private readonly listeners = new Set<(exit: ContainerExit) => void>();
  private events: Readable | undefined;
  private eventsTimer: NodeJS.Timeout | undefined;
  private eventsFailures = 0;
  private closed = false;
  private connected: { promise: Promise<void>; resolve: () => void } = deferred();

  constructor(options: DockerAgentOptions) {
    this.managerId = options.managerId;
    this.address = options.address ?? '127.0.0.1';
    this.docker = options.docker ?? new Docker();
    this.engine = options.engine;
    this.pullTimeoutMs = options.pullTimeoutMs ?? 120_000;
    this.stopSeconds = options.stopSeconds ?? 5;
    this.log = (options.log ?? silentLogger).child({ component: 'docker' });
  }

  async launch(spec: ContainerSpec): Promise<LaunchedContainer> {
    let options: Docker.ContainerCreateOptions;
    try {
      options = buildCreateOptions(spec, { managerId: this.managerId, address: this.address });
    } catch (error) {
      if (isReactorError(error)) throw new LaunchError('BAD_SPEC', error.message, error.details);
      throw error;
    }
    await this.ensureImage(spec.docker.image);

    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (error) {
      throw new LaunchError('ENGINE', `creating the container for ${spec.endpoint} failed: ${engineMessage(error)}`, {
        image: spec.docker.image,
        engine: engineMessage(error),
      });
    }
    try {
      await container.start();
      const inspect = await container.inspect();
      const address = publishedAddress(inspect, spec.port, this.address);
      if (!inspect.State.Running) {
        throw new LaunchError('ENGINE', `container of ${spec.endpoint} exited at once (exit code ${inspect.State.ExitCode})`, {
          exitCode: inspect.State.ExitCode,
        });
      }
      if (!address) throw new LaunchError('ENGINE', `port ${spec.port}/tcp of the container was not published`);
      return { containerId: container.id, address };
    } catch (error) {
      // Leave nothing behind: a half-started container would hold slots and confuse adoption.
      await this.remove(container.id).catch(() => undefined);
      if (error instanceof LaunchError) throw error;
      const engine = engineMessage(error);
      const userProblem = spec.docker.user ? userErrorMessage(spec.docker.user, spec.docker.image, engine) : null;
      if (userProblem) throw new LaunchError('BAD_SPEC', userProblem, { key: 'user', engine });
      throw new LaunchError('ENGINE', `starting the container for ${spec.endpoint} failed: ${engine}`, { engine });
    }
  }

  /** Uses the local image; pulls it when missing; fails with IMAGE_UNAVAILABLE naming the image and the engine's answer. */
  async ensureImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) {
        throw new LaunchError('ENGINE', `inspecting image ${image} failed: ${engineMessage(error)}`, { image });
      }
    }
    this.log.info({ image }, `image ${image} is not here; pulling it`);
    try {
      await this.pull(image);
    } catch (error) {
      const engine = engineMessage(error);
      throw new LaunchError('IMAGE_UNAVAILABLE', `image ${image} is not available: not found locally, and pulling it failed: ${engine}`, {
        image,
        engine,
      });
    }
  }

  private pull(image: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the registry in ${this.pullTimeoutMs} ms`)), this.pullTimeoutMs);
      timer.unref();
      const done = (error: unknown) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      this.docker.pull(image).then(
        (stream: NodeJS.ReadableStream) =>
          this.docker.modem.followProgress(
            stream,
            (error: Error | null, output: { error?: string; errorDetail?: { message?: string } }[]) => {
              const failed = output?.find((item) => item.error || item.errorDetail);
              done(error ?? (failed ? new Error(failed.errorDetail?.message ?? failed.error) : null));
            },
          ),
        done,
      );
    });
  }

  async remove(containerId: string): Promise<void> {
    const container = this.docker.getContainer(containerId);
    try {
      await container.stop({ t: this.stopSeconds });
    } catch (error) {
      // 304: already stopped; 404: already gone. Anything else: the forced removal below still kills it.
      if (statusOf(error) === 404) return;
    }
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      // 404: gone; 409: removal already in progress.
      if (status === 404 || (status === 409 && /already in progress/.test(engineMessage(error)))) return;
      throw error;
    }
  }

  async list(): Promise<AgentContainer[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${Labels.manager}=${this.managerId}`] },
    });
    return containers.map((info) => {
      const port = Number(info.Labels[Labels.port]);
      const published = info.Ports.find((p) => p.PrivatePort === port && p.Type === 'tcp' && p.PublicPort);
      return {
        containerId: info.Id,
        instanceId: info.Labels[Labels.instance] ?? '',
        endpoint: info.Labels[Labels.endpoint] ?? '',
        slots: Number(info.Labels[Labels.slots]) || 0,
        running: info.State === 'running',
        state: info.State,
        address: published ? joinHostPort(this.address, published.PublicPort) : null,
      };
    });
  }

  watch(onExit: (exit: ContainerExit) => void): () => void {
    this.listeners.add(onExit);
    if (!this.events && !this.eventsTimer) void this.openEvents();
    return () => {
      this.listeners.delete(onExit);
    };
  }

  /** Resolves once the engine's event stream is open (events from then on reach the watchers). */
  watching(): Promise<void> {
    return this.connected.promise;
  }

  async problems(): Promise<string[]> {
    const problem = await probeDocker(this.docker, undefined, this.engine);
    return problem ? [problem] : [];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.eventsTimer) clearTimeout(this.eventsTimer);
    this.events?.destroy();
    this.events = undefined;
  }

  /** Streams the engine's events for our containers; reconnects (with backoff) when the stream ends. */
  private async openEvents(): Promise<void> {
    this.eventsTimer = undefined;
    if (this.closed) return;
    let stream: Readable;
    try {
      stream = (await this.docker.getEvents({
        filters: { type: ['container'], label: [`${Labels.manager}=${this.managerId}`], event: EXIT_ACTIONS },
      })) as Readable;
    } catch (error) {
      this.log.error(`event stream failed: ${engineMessage(error)}`);
      this.reopenEvents();
      return;
    }
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.events = stream;
    this.eventsFailures = 0;
    this.connected.resolve();
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) this.dispatch(line);
      }
    });
    const ended = () => {
      if (this.events !== stream) return;
      this.events = undefined;
      this.connected = deferred();
      this.reopenEvents();
    };
    stream.on('end', ended);
    stream.on('close', ended);
    stream.on('error', ended);
  }

  private reopenEvents(): void {
    if (this.closed || this.listeners.size === 0) return;
    const delay = EVENTS_RETRY_MS[Math.min(this.eventsFailures++, EVENTS_RETRY_MS.length - 1)]!;
    this.eventsTimer = setTimeout(() => void this.openEvents(), delay);
    this.eventsTimer.unref();
  }

  private dispatch(line: string): void {
    let event: { Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    const attributes = event.Actor?.Attributes ?? {};
    const exit: ContainerExit = {
      containerId: event.Actor?.ID ?? event.id ?? '',
      instanceId: attributes[Labels.instance] ?? null,
      endpoint: attributes[Labels.endpoint] ?? null,
      action: event.Action ?? event.status ?? '',
    };
    for (const listener of this.listeners) listener(exit);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
