// Benchmark: container create+start latency through the docker agent vs `docker run -d` of the same image, in the same run.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { Benchmark, BenchResult } from './types.js';
import { parseEndpointConfig } from '../src/config/index.js';
import { DockerAgent } from '../src/docker/agent.js';
import { containerSpecFor } from '../src/docker/spec.js';
import { ensureTestImage, TEST_IMAGE } from '../test/support/images.js';

const run = promisify(execFile);
const ROUNDS = 8;
const GOAL_RATIO = 1.2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const bench: Benchmark = async () => {
  ensureTestImage();
  const docker = new Docker();
  const managerId = `bench-${randomUUID()}`;
  const agent = new DockerAgent({ managerId });
  const config = parseEndpointConfig(`[endpoint]\nport=5000\n[cloud:docker]\nimage=${TEST_IMAGE}\n`);
  const agentMs: number[] = [];
  const cliMs: number[] = [];
  const cleanup: string[] = [];
  try {
    // Interleaved, after one warm-up of each, so both see the same engine state.
    for (let round = -1; round < ROUNDS; round++) {
      let t = performance.now();
      const launched = await agent.launch(containerSpecFor('bench', config, randomUUID(), 'http://127.0.0.1:8080/graphql'));
      const a = performance.now() - t;
      cleanup.push(launched.containerId);

      t = performance.now();
      const { stdout } = await run('docker', [
        'run', '-d', '--init', '-p', '127.0.0.1::5000', '--label', `reactor.manager=${managerId}`, TEST_IMAGE,
      ]);
      const c = performance.now() - t;
      cleanup.push(stdout.trim());
      if (round >= 0) {
        agentMs.push(a);
        cliMs.push(c);
      }
    }
  } finally {
    await Promise.all(cleanup.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
    await agent.close();
  }
  const agentMedian = median(agentMs);
  const cliMedian = median(cliMs);
  const ratio = agentMedian / cliMedian;
  const results: BenchResult[] = [
    {
      name: 'container create+start through the agent (median)',
      value: Math.round(agentMedian),
      unit: 'ms',
      goal: `<= ${GOAL_RATIO} × docker run -d`,
      met: ratio <= GOAL_RATIO,
      note: `${ROUNDS} launches (image check, create, start, inspect for the port); ratio ${ratio.toFixed(2)} vs docker run -d`,
    },
    {
      name: 'docker run -d of the same image (median, baseline)',
      value: Math.round(cliMedian),
      unit: 'ms',
      goal: '',
      note: `${ROUNDS} runs with --init and a published 127.0.0.1 port, CLI process included`,
    },
  ];
  return results;
};

export default bench;
