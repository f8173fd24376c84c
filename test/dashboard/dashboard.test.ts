// The dashboard in headless Chromium against a real server, Docker engine and nginx, with an endpoint under load: the overview matches the API, charts and the timeline follow live, and the page's actions work.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort } from '../../src/util/ports.js';
import { assertAllLocal, ensureBundle, launchChromium, openWatchedPage } from '../support/browser.js';
import { balancedConf } from '../support/configs.js';
import { gqlOk, manageAndStart } from '../support/graphql.js';
import { ensureTestImage } from '../support/images.js';
import { load, type LoadResult } from '../support/load.js';
import { startTestServer, take, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const NAME = 'dash';
/** Where the screenshots go (the README's docs/dashboard.png is copied from here). */
const SCREENSHOTS = process.env.REACTOR_SCREENSHOT_DIR ?? join(tmpdir(), 'reactor-dashboard-screenshots');

const OVERVIEW_API = `query($n: String!) {
  controller { holder term }
  managers { name slots usedSlots }
  endpoint(name: $n) { state instances { status } config { scaling { rules } } metrics { id metrics } decisions(limit: 1) { id target } }
}`;

describe('the dashboard against a real endpoint under load', { timeout: 280_000 }, () => {
  let t: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let origin: string;
  let port: number;
  const hostName = `dash-host-${process.pid}`;

  before(async () => {
    ensureTestImage();
    mkdirSync(SCREENSHOTS, { recursive: true });
    await ensureBundle('dashboard');
    [t, browser, port] = await Promise.all([startTestServer({ agent: true, name: hostName, interval: 1 }), launchChromium(), freePort()]);
    origin = new URL(t.url).origin;
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await manageAndStart(t, NAME, balancedConf({ port, min: 1, max: 3, rules: '0 < rate < 5', decommissionedTimeout: 2 }));
    await waitFor(async () => (await t.gql(`{ endpoint(name: "${NAME}") { counts { running } } }`)).data?.endpoint.counts.running === 1, {
      timeoutMs: 30_000,
      what: 'the first instance RUNNING',
    });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
  });

  it('should answer GET /, /endpoints/NAME and the assets, and 404 an unknown asset', async () => {
    for (const path of ['/', `/endpoints/${NAME}`]) {
      const res = await fetch(`${origin}${path}`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const html = await res.text();
      assert.match(html, /<title>Reactor dashboard<\/title>/);
      assert.match(html, /src="\/dashboard\/dashboard\.js\?v=[0-9a-f]+"/);
    }
    const js = await fetch(`${origin}/dashboard/dashboard.js?v=1`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-encoding'), 'gzip');
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${origin}/dashboard/nothing.js`)).status, 404);
  });

  it('should show the overview with no console errors, its numbers those of the API, live', async () => {
    const watched = await openWatchedPage(context);
    await watched.page.goto(`${origin}/`);
    const row = watched.page.locator(`[data-endpoint="${NAME}"]`);
    await row.waitFor();
    const field = (name: string) => row.locator(`[data-field="${name}"]`);
    // The page and the API read at nearly the same moment agree (the loop moves on every second, so retry until they do).
    await waitFor(
      async () => {
        const api = (await gqlOk(t, OVERVIEW_API, { n: NAME })).endpoint;
        const shown = {
          state: await field('state').innerText(),
          running: Number(await field('running').innerText()),
          rules: await field('rules').innerText(),
          target: await field('target').innerText(),
          rate: await field('rate').getAttribute('data-value'),
          decision: await field('decision').getAttribute('data-decision-id'),
        };
        const expected = {
          state: api.state,
          running: api.instances.filter((i: { status: string }) => i.status === 'RUNNING').length,
          rules: api.config.scaling.rules,
          target: String(api.decisions[0]?.target ?? '–'),
          rate: String(api.metrics?.metrics.rate ?? ''),
          decision: api.decisions[0]?.id ?? '',
        };
        return JSON.stringify(shown) === JSON.stringify(expected);
      },
      { timeoutMs: 15_000, what: 'the overview row to match the API' },
    );
    const { managers, controller } = await gqlOk(t, OVERVIEW_API, { n: NAME });
    const manager = managers.find((m: { name: string }) => m.name === hostName);
    const managerRow = watched.page.locator(`[data-manager="${hostName}"]`);
    await managerRow.locator('[data-field="slots"]', { hasText: `${manager.usedSlots} / ${manager.slots}` }).waitFor();
    assert.equal(controller?.holder, hostName, 'a single server is its own controller');
    await managerRow.locator('[data-field="role"]', { hasText: `controller (term ${controller.term})` }).waitFor();
    assert.equal(await watched.page.locator('a[href="/graphql"]').count(), 1, 'a link to the explorer');
    assertAllLocal(watched.urls);
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });

  it('should draw each new sample within 2 s, and a scale-up in the instance chart and the timeline, under load', async () => {
    const watched = await openWatchedPage(context);
    await watched.page.goto(`${origin}/endpoints/${NAME}`);
    const rateChart = watched.page.locator('[data-chart="rate"]');
    const instanceChart = watched.page.locator('[data-chart="instances"]');
    await rateChart.waitFor();
    await instanceChart.waitFor();
    assert.match(await rateChart.innerText(), /0 < rate < 5/, "the rule's band is named on its chart");
    // The overview, opened before the load, must follow the scale-up by itself.
    const overview = await context.newPage();
    await overview.goto(`${origin}/`);
    const row = overview.locator(`[data-endpoint="${NAME}"]`);
    await row.locator('[data-field="running"]', { hasText: /^1$/ }).waitFor();

    const started = Date.now();
    let stopLoad = false;
    const traffic: Promise<LoadResult> = load(`http://127.0.0.1:${port}/`, {
      concurrency: 4,
      maxRequests: 40_000,
      stop: () => stopLoad || Date.now() - started > 90_000,
    });
    try {
      const client = t.ws();
      for (let n = 0; n < 3; n++) {
        const [{ metricSamples: sample }] = await take(client, `subscription { metricSamples(endpoint: "${NAME}") { id } }`, {}, 1).done;
        await waitFor(async () => (await rateChart.getAttribute('data-last-id')) === sample.id, {
          timeoutMs: 2000,
          intervalMs: 10,
          what: `sample ${sample.id} on the rate chart within 2 s of its arrival`,
        });
      }

      const scaled = await waitFor(
        async () => {
          const { endpoint } = await gqlOk(t, `{ endpoint(name: "${NAME}") { decisions(limit: 20) { id current after target } } }`);
          return endpoint.decisions.find((d: { current: number; after: number }) => d.after > d.current);
        },
        { timeoutMs: 30_000, what: 'a scale-up decision' },
      );
      await watched.page.locator(`.timeline [data-decision="${scaled.id}"].up`).waitFor({ timeout: 5000 });
      assert.match(await watched.page.locator(`[data-decision="${scaled.id}"] [data-field="move"]`).innerText(), new RegExp(`${scaled.current} → ${scaled.after}`));
      await waitFor(async () => JSON.parse((await instanceChart.getAttribute('data-last')) ?? '[]')[1] >= 2, {
        timeoutMs: 5000,
        what: 'a target of 2 or more on the instance chart',
      });
      await waitFor(async () => JSON.parse((await instanceChart.getAttribute('data-last')) ?? '[]')[0] >= 2, {
        timeoutMs: 30_000,
        what: 'two or more serving instances on the instance chart',
      });
      await watched.page.locator('.instances tr[data-status="RUNNING"]').nth(1).waitFor();
      await watched.page.screenshot({ path: join(SCREENSHOTS, 'endpoint.png'), fullPage: true });

      // No reload: the row moved with instanceChanges and scalingDecisions, and its sparkline with the samples.
      await row.locator('[data-field="running"]').filter({ hasNotText: /^[01]$/ }).waitFor({ timeout: 10_000 });
      await row.locator('[data-field="target"]').filter({ hasNotText: /^[01–]$/ }).waitFor({ timeout: 5000 });
      await waitFor(async () => Number(await row.locator('[data-field="rate"]').getAttribute('data-value')) > 0, { what: 'a rate above 0 on the overview' });
      await overview.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
      await overview.close();
    } finally {
      stopLoad = true;
      const result = await traffic;
      assert.ok(result.sent <= 40_000);
    }
    assertAllLocal(watched.urls);
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });

  it('should start, stop and pause from the page, and preview a rules edit through evaluateScaling before saving it', async () => {
    const watched = await openWatchedPage(context);
    const page = watched.page;
    await page.goto(`${origin}/endpoints/${NAME}`);
    const state = page.locator('.endpoint-page h2 [data-field="state"]');
    await state.waitFor();
    for (const [button, expected] of [
      ['Pause', 'PAUSED'],
      ['Stop', 'STOPPED'],
      ['Start', 'RUNNING'],
    ] as const) {
      await page.getByRole('button', { name: button, exact: true }).click();
      await state.filter({ hasText: expected }).waitFor();
      assert.equal((await gqlOk(t, `{ endpoint(name: "${NAME}") { state } }`)).endpoint.state, expected);
    }

    await editRules(page, '1 <= rate <= 20', '1', '4');
    const preview = await waitForPreview(page, '1 <= rate <= 20');
    const { evaluateScaling } = await gqlOk(
      t,
      'query($i: ScalingEvaluationInput!) { evaluateScaling(input: $i) { idealMin idealMax targetMin targetMax target conflict rules { rule metric min max noData } noData } }',
      { i: preview.input },
    );
    assert.deepEqual(preview.result, evaluateScaling, 'the preview is what evaluateScaling answers for the same numbers');
    assert.match(await page.locator('.preview [data-field="preview"]').innerText(), new RegExp(`target ${evaluateScaling.target}`));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-field="action-message"]', { hasText: 'rules saved' }).waitFor();
    const saved = (await gqlOk(t, `{ endpoint(name: "${NAME}") { config { scaling { rules minInstances maxInstances } } } }`)).endpoint.config.scaling;
    assert.deepEqual({ max: saved.maxInstances, min: saved.minInstances }, { max: 4, min: 1 });
    assert.equal(saved.rules.replace(/\s/g, ''), '1<=rate<=20');
    await page.locator('[data-chart="rate"]', { hasText: /1\s*<=\s*rate\s*<=\s*20/ }).waitFor();

    // A bad rule: the preview and the save both show the server's own message.
    const bad = 'rate <<';
    const refused = await t.gql('mutation { setEndpointOption(name: "dash", section: "scaling", key: "rules", value: "rate <<") { name } }');
    const message = refused.errors?.[0]?.message;
    assert.ok(message, 'the server refuses the rule');
    await editRules(page, bad, '1', '4');
    await page.locator('.preview [role="alert"]', { hasText: bad }).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-field="action-message"][role="alert"]', { hasText: message }).waitFor();
    assert.deepEqual(watched.errors, []);
    await page.close();
  });
});

async function editRules(page: Page, rules: string, min: string, max: string): Promise<void> {
  await page.locator('input[name="rules"]').fill(rules);
  await page.locator('input[name="min"]').fill(min);
  await page.locator('input[name="max"]').fill(max);
}

async function waitForPreview(page: Page, rules: string): Promise<{ input: any; result: any }> {
  return waitFor(async () => {
    // Both attributes in one read: a new sample re-renders the preview with new inputs.
    const [inputText, result] = await page.locator('.preview').evaluate((element: HTMLElement) => [element.dataset.previewInput, element.dataset.preview]);
    const input = JSON.parse(inputText ?? 'null');
    return input?.rules?.[0] === rules && result ? { input, result: JSON.parse(result) } : null;
  }, { what: `the preview of ${rules}` });
}
