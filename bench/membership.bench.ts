// Benchmark: requests keep-alive clients lose while an endpoint's membership goes 1 → 5 → 1, with the Lua balancer vs the reload-per-change baseline, in the same run.
import dgram from 'node:dgram';
import { setTimeout as pace } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchResult } from './types.js';
import { parseEndpointUrl } from '../src/config/endpoint.js';
import { defaultEndpointConfig } from '../src/config/index.js';
import { findExecutable } from '../src/managers/probe.js';
import { NginxDriver } from '../src/nginx/driver.js';
import type { BalancedEndpoint } from '../src/nginx/render.js';
import { freePort } from '../src/util/ports.js';
import { removeContainersWithLabel } from '../test/support/containers.js';
import { ensureTestImage } from '../test/support/images.js';
import { load, type LoadResult } from '../test/support/load.js';
import { waitFor } from '../test/support/wait.js';
import { BENCH_LABEL, startBenchContainer } from './containers.js';
import { get, POLL } from './http.js';

const CLIENTS = 16;
/** 1 → 5 → 1, one instance per step, this many times. */
const WAVES = 3;
/** Between two membership changes: about the pace of `--interval 1` scaling under ramp_limit 1. */
const STEP_MS = 250;
const MAX_REQUESTS = 400_000;

/** The instance counts of the waves: 1, 2, 3, 4, 5, 4, 3, 2, 1, 2, … */
function steps(): number[] {
  const wave = [2, 3, 4, 5, 4, 3, 2, 1];
  return Array.from({ length: WAVES }, () => wave).flat();
}

interface ModeRun {
  load: LoadResult;
  changes: number;
  reloads: number;
  ms: number;
}

/**
 * One nginx (our driver, as a host runs it) in front of `backends`, with
 * `lua` or not; 16 keep-alive clients in their own process send GETs while
 * the membership walks the waves; the containers themselves never stop, so
 * every failure is the balancer's.
 */
async function run(lua: boolean, backends: { address: string }[]): Promise<ModeRun> {
  const prefix = mkdtempSync(join(tmpdir(), 'reactor-bench-membership-'));
  const sink = dgram.createSocket('udp4').on('message', () => {});
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const driver = new NginxDriver({ binary: findExecutable('nginx')!, prefix, listenAddress: '127.0.0.1', syslogPort: sink.address().port, ...(lua ? {} : { lua: null }) });
  const port = await freePort();
  const nginx = { ...defaultEndpointConfig().nginx, keepalive: 16 };
  const model = (count: number): BalancedEndpoint[] => [
    { name: 'bench', url: parseEndpointUrl(`http://:${port}/`), nginx, weight: 1, backends: backends.slice(0, count).map((b) => ({ address: b.address, instance: b.address })) },
  ];
  try {
    await driver.start();
    await driver.apply(model(1));
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(async () => (await get(url)).status === 200, POLL);
    const reloads = driver.stats.reloads;
    let done = false;
    const started = performance.now();
    let progress: LoadResult | undefined;
    const traffic = load(url, {
      concurrency: CLIENTS,
      maxRequests: MAX_REQUESTS,
      shape: { keepAlive: true },
      stop: (seen) => ((progress = seen), done),
    });
    // Every client has its pooled connection before the first change.
    await waitFor(() => (progress?.ok ?? 0) >= CLIENTS * 10, POLL);
    let changes = 0;
    for (const count of steps()) {
      await driver.apply(model(count));
      changes++;
      await pace(STEP_MS); // the pace of the changes, not a wait for a condition
    }
    done = true;
    const result = await traffic;
    return { load: result, changes, reloads: driver.stats.reloads - reloads, ms: performance.now() - started };
  } finally {
    await driver.stop();
    sink.close();
    rmSync(prefix, { recursive: true, force: true });
  }
}

const bench: Benchmark = async () => {
  ensureTestImage();
  await removeContainersWithLabel(BENCH_LABEL, 'membership');
  const backends = await Promise.all(Array.from({ length: 5 }, () => startBenchContainer('membership')));
  try {
    const baseline = await run(false, backends);
    const lua = await run(true, backends);
    const share = (r: ModeRun) => (r.load.sent > 0 ? (r.load.failed / r.load.sent) * 100 : 0);
    const rate = (r: ModeRun) => r.load.ok / (r.ms / 1000);
    const why = (r: ModeRun) => JSON.stringify(r.load.failures);
    const note = `${CLIENTS} keep-alive clients in their own process; ${lua.changes} membership changes (1 → 5 → 1 ×${WAVES}), one every ${STEP_MS} ms`;
    const results: BenchResult[] = [
      {
        name: 'failed requests while scaling, reload per change (baseline)',
        value: baseline.load.failed,
        unit: 'requests',
        goal: '',
        note: `${baseline.load.sent} sent (${share(baseline).toFixed(3)} % failed ${why(baseline)}); ${baseline.reloads} reloads; ${note}`,
      },
      {
        name: 'failed requests while scaling, Lua balancer',
        value: lua.load.failed,
        unit: 'requests',
        goal: '0',
        met: lua.load.failed === 0,
        note: `${lua.load.sent} sent (${share(lua).toFixed(3)} % failed ${why(lua)}); ${lua.reloads} reloads; same run as the baseline`,
      },
      {
        name: 'throughput while scaling, Lua balancer vs reload per change',
        value: (rate(lua) / rate(baseline)) * 100,
        unit: '%',
        goal: '',
        note: `${rate(lua).toFixed(0)} vs ${rate(baseline).toFixed(0)} ok req/s`,
      },
    ];
    return results;
  } finally {
    await removeContainersWithLabel(BENCH_LABEL, 'membership');
  }
};

export default bench;
