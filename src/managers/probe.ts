// Finds what this host lacks to run instances (a Docker engine, an nginx binary), as lines an operator can act on.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import Docker from 'dockerode';

/** Full path of an executable on PATH (plus the sbin directories nginx lives in), or null. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** `engine` names the engine in the message (default: DOCKER_HOST, else the local socket). */
export async function probeDocker(docker: Docker = new Docker(), timeoutMs = 3000, engine?: string): Promise<string | null> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return null;
  } catch (error) {
    const where = engine ?? process.env.DOCKER_HOST ?? '/var/run/docker.sock';
    return `docker: engine not reachable at ${where} (${(error as Error).message}); install docker.io and start dockerd`;
  }
}

export function probeNginx(): string | null {
  return findExecutable('nginx') ? null : 'nginx: no nginx binary on PATH; install nginx-light';
}

/** Everything this host lacks; empty when it can run instances behind nginx. `docker` is the engine it manages (named `engine`). */
export async function probeHost(docker?: Docker, engine?: string): Promise<string[]> {
  const problems = await Promise.all([probeDocker(docker, undefined, engine), Promise.resolve(probeNginx())]);
  return problems.filter((problem): problem is string => problem !== null);
}
