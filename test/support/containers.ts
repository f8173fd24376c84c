// Test cleanup for Docker: finds and removes the containers a test's agent left, by their reactor labels.
import Docker from 'dockerode';

const docker = new Docker();

/** Containers carrying `label=value` (running or not). */
export async function containersWithLabel(label: string, value: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
}

/** Force-removes every container carrying `label=value`; returns how many there were. */
export async function removeContainersWithLabel(label: string, value: string): Promise<number> {
  const containers = await containersWithLabel(label, value);
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        }),
    ),
  );
  return containers.length;
}
