// Finds the address containers on Docker's default bridge reach their host by: the bridge network's gateway.
import { isIP } from 'node:net';
import Docker from 'dockerode';

/**
 * The IPv4 gateway of the engine's `bridge` network (172.17.0.1 by default,
 * or the address of the bridge dockerd was started with), or null when there
 * is no engine or no such network. Containers Reactor starts are on that
 * network, and the host answers them there.
 */
export async function bridgeGateway(docker: Docker = new Docker()): Promise<string | null> {
  try {
    const network = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
    return network.IPAM?.Config?.map((c) => c.Gateway).find((g): g is string => typeof g === 'string' && isIP(g) === 4) ?? null;
  } catch {
    return null;
  }
}
