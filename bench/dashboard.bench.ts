// First paint of the dashboard in headless Chromium with 50 endpoints and 500 instances (seeded records, no containers), against the goal of 2 s, beside the same pages with one endpoint.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { silentLogger } from '../src/log/logger.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { newId } from '../src/store/ids.js';
import type { DecisionRecord, MetricSampleRecord, Store } from '../src/store/types.js';
import { ensureBundle, launchChromium } from '../test/support/browser.js';
import { median } from './simulation.js';
import type { BenchResult } from './types.js';

const ENDPOINTS = 50;
const PER_ENDPOINT = 10;
const MANAGERS = 5;
/** Samples and decisions stored per endpoint: more than either page reads (60 and 300 samples, 1 and 100 decisions). */
const SAMPLES = 300;
const DECISIONS = 100;
const RUNS = 5;
const GOAL_MS = 2000;
const SIMULATION =
  'SIMULATION: a real server (SQLite, Apollo, graphql-ws) whose store was seeded with the records an agent would write — managers, RUNNING instances, 1 s samples and decisions — and no containers; no controller runs, so nothing moves while it is measured';

function sample(endpoint: string, at: Date, n: number): MetricSampleRecord {
  const rate = 30 + 15 * Math.sin(n / 9);
  return { id: newId(), endpoint, at, instances: PER_ENDPOINT, metrics: { active: 2, rate, bytes: rate * 13, response: 4 + (n % 5), pending: 0 } };
}

function decision(endpoint: string, at: Date, n: number): DecisionRecord {
  const rate = 30 + 15 * Math.sin(n / 9);
  const total = rate * PER_ENDPOINT;
  const min = Math.ceil(total / 50);
  const max = Math.ceil(total / 20);
  return {
    id: newId(),
    endpoint,
    at,
    record: {
      endpoint, at: at.toISOString(), state: 'RUNNING', round: 'evaluate', cause: '', current: PER_ENDPOINT, target: PER_ENDPOINT, after: PER_ENDPOINT,
      inputs: { metrics: { rate }, reported: PER_ENDPOINT, current: PER_ENDPOINT, minInstances: 1, maxInstances: 20, rampLimit: 5, decommissionedTimeout: 60, rules: '20 <= rate <= 50' },
      rules: [{ rule: '20 <= rate <= 50', metric: 'rate', average: rate, total, min, max }],
      ideal: { min, max }, clamped: { min, max }, conflict: false, rampLimit: 5, rampCut: 0, rampLimited: false, actions: [], held: null, notes: [],
      summary: `rate ${rate.toFixed(1)}/instance over ${PER_ENDPOINT} instances needs ${min}..${max} → clamped to ${min}..${max} → target ${PER_ENDPOINT}; holding at ${PER_ENDPOINT}`,
    },
  };
}

/** Endpoints, instances spread over the managers, and a history of 1 s samples and decisions ending now. */
async function seed(store: Store, endpoints: number): Promise<void> {
  const now = Date.now();
  for (let m = 0; m < MANAGERS; m++) {
    await store.managers.upsert({
      id: `sim-manager-${m}`, name: `sim-manager-${m}`, address: `127.0.0.${m + 1}`, slots: 200, usedSlots: (endpoints * PER_ENDPOINT) / MANAGERS,
      clouds: ['docker'], loadbalancers: ['nginx'], problems: [], lastSeen: new Date(), createdAt: new Date(), status: 'READY',
    });
  }
  for (let e = 0; e < endpoints; e++) {
    const name = `ep${String(e).padStart(2, '0')}`;
    await store.endpoints.create({
      name, state: 'RUNNING', configText: `[endpoint]\nurl=http://${name}.sim/\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=20\nrules=20 <= rate <= 50\n[cloud:docker]\nimage=sim\n`,
    });
    for (let i = 0; i < PER_ENDPOINT; i++) {
      const at = new Date(now - 600_000);
      await store.instances.upsert({
        id: newId(), endpoint: name, managerId: `sim-manager-${(e * PER_ENDPOINT + i) % MANAGERS}`, containerId: `sim${e}-${i}`, address: `127.0.0.1:${30000 + e * PER_ENDPOINT + i}`,
        status: 'RUNNING', slots: 1, reason: null, decommissionedAt: null, createdAt: at, updatedAt: at, term: 0,
      });
    }
    await store.samples.appendMany(Array.from({ length: SAMPLES }, (_, n) => sample(name, new Date(now - (SAMPLES - n) * 1000), n)));
    await store.decisions.appendMany(Array.from({ length: DECISIONS }, (_, n) => decision(name, new Date(now - (DECISIONS - n) * 3000), n)));
  }
}

/** Milliseconds from navigation start until `ready` holds in the page (read by the page's own clock), for RUNS fresh browser contexts. */
async function paints(browser: Browser, url: string, ready: { rows: number; managers: number; charts: number; instances: number }): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(url, { waitUntil: 'commit' });
      // A function, not a string: the page's content-security policy forbids eval.
      const handle = await page.waitForFunction(
        (want) =>
          document.querySelectorAll('[data-endpoint] .sparkline canvas').length === want.rows &&
          document.querySelectorAll('[data-manager]').length === want.managers &&
          document.querySelectorAll('[data-chart] canvas').length === want.charts &&
          document.querySelectorAll('[data-instance]').length === want.instances &&
          (want.charts === 0 || document.querySelectorAll('.timeline > li').length > 0) &&
          performance.now(),
        ready,
        { polling: 'raf', timeout: 30_000 },
      );
      times.push((await handle.jsonValue()) as number);
      if (errors.length) throw new Error(`the page failed: ${errors.join('; ')}`);
    } finally {
      await context.close();
    }
  }
  return times;
}

async function measure(browser: Browser, endpoints: number): Promise<{ overview: number[]; endpoint: number[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-bench-dashboard-'));
  let server: RunningServer | undefined;
  try {
    server = await startServer({ listen: '127.0.0.1:0', agent: false, dataDir, log: silentLogger });
    await seed(server.services.store, endpoints);
    const origin = new URL(server.url).origin;
    const overview = await paints(
      browser,
      `${origin}/`,
      { rows: endpoints, managers: MANAGERS, charts: 0, instances: 0 },
    );
    const endpoint = await paints(
      browser,
      `${origin}/endpoints/ep00`,
      { rows: 0, managers: 0, charts: 2, instances: PER_ENDPOINT },
    );
    return { overview, endpoint };
  } finally {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const ms = (values: readonly number[]) => values.map((v) => `${Math.round(v)} ms`).join(', ');

export default async function dashboardBench(): Promise<BenchResult[]> {
  await ensureBundle('dashboard');
  const browser = await launchChromium();
  try {
    const small = await measure(browser, 1);
    const large = await measure(browser, ENDPOINTS);
    const row = (name: string, times: number[], goal: boolean, note: string): BenchResult => ({
      name,
      value: median(times),
      unit: 'ms',
      goal: goal ? `every run < ${GOAL_MS} ms` : '',
      met: goal ? Math.max(...times) < GOAL_MS : undefined,
      note: `median of ${RUNS} fresh browser contexts (headless Chromium, --disable-gpu): ${ms(times)}; ${note}`,
    });
    return [
      row(
        `dashboard overview first paint, ${ENDPOINTS} endpoints × ${PER_ENDPOINT} instances (simulation)`,
        large.overview,
        true,
        `navigation → every row with its sparkline (60 samples each) and the ${MANAGERS} managers drawn; ${SIMULATION}`,
      ),
      row(`dashboard overview first paint, 1 endpoint (baseline)`, small.overview, false, 'same server set-up, one endpoint of 10 instances'),
      row(
        `dashboard endpoint page first paint, in a ${ENDPOINTS}-endpoint system (simulation)`,
        large.endpoint,
        true,
        `navigation → both charts (${SAMPLES} samples), ${PER_ENDPOINT} instance rows and the decision timeline (${DECISIONS} decisions) drawn; ${SIMULATION}`,
      ),
      row(`dashboard endpoint page first paint, 1 endpoint (baseline)`, small.endpoint, false, 'same server set-up, one endpoint'),
    ];
  } finally {
    await browser.close();
  }
}
