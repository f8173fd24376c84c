// Finds the address containers on Docker's default bridge reach their host by: the bridge network's gateway.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import Docker from 'dockerode';

interface BridgeNetwork {
  IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] };
  Options?: Record<string, string>;
}

/**
 * The IPv4 gateway of the engine's `bridge` network (172.17.0.1 by default,
 * or the address of the bridge dockerd was started with), or null when there
 * is no engine or no such network. Containers Reactor starts are on that
 * network, and the host answers them there. Engines that leave the gateway
 * out of the network's IPAM config (docker.io 20.10 does) are read through
 * the bridge interface's own address, or the subnet's first address.
 */
export async function bridgeGateway(docker: Docker = new Docker()): Promise<string | null> {
  let network: BridgeNetwork;
  try {
    network = (await docker.getNetwork('bridge').inspect()) as BridgeNetwork;
  } catch {
    return null;
  }
  const configured = network.IPAM?.Config?.map((c) => c.Gateway).find((g): g is string => typeof g === 'string' && isIP(g) === 4);
  if (configured) return configured;
  const bridge = network.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
  const own = networkInterfaces()[bridge]?.find((address) => address.family === 'IPv4')?.address;
  if (own) return own;
  // Node lists an interface only while it is running, which a bridge is only with a container on it;
  // Docker then gives the bridge the subnet's first address.
  const subnet = network.IPAM?.Config?.map((c) => c.Subnet).find((s): s is string => typeof s === 'string' && isIP(s.split('/')[0]) === 4);
  return subnet ? firstHost(subnet) : null;
}

/** 172.17.0.0/16 → 172.17.0.1. */
export function firstHost(cidr: string): string {
  const [base, bits] = cidr.split('/');
  const n = base.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  const first = ((n & mask) >>> 0) + 1;
  return [24, 16, 8, 0].map((shift) => (first >>> shift) & 255).join('.');
}
