// The dashboard on a server with an API key, in headless Chromium: a missing or wrong key gets a clear message with the server's words, and the right one, given once, is kept.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { ensureBundle, launchChromium, openWatchedPage } from '../support/browser.js';
import { SEED_CONFIG } from '../support/configs.js';
import { gqlOk, manage } from '../support/graphql.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('the dashboard with an API key', { timeout: 120_000 }, () => {
  const apiKey = 'dashboard-test-key';
  let t: TestServer;
  let browser: Browser;
  let origin: string;

  before(async () => {
    await ensureBundle('dashboard');
    [t, browser] = await Promise.all([startTestServer({ apiKey }), launchChromium()]);
    origin = new URL(t.url).origin;
    await manage(t, 'keyed', SEED_CONFIG);
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('should say the key is needed, with the server message, and work once it is given', async () => {
    const context = await browser.newContext();
    try {
      const { page } = await openWatchedPage(context);
      await page.goto(`${origin}/`);
      const alert = page.locator('.key-needed[role="alert"]');
      await alert.filter({ hasText: 'This server needs an API key' }).waitFor();
      const refusal = await t.gql('{ version }', {}, { 'x-auth-key': '' });
      assert.equal(refusal.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.match(await alert.innerText(), new RegExp(escape(refusal.errors![0]!.message)), "the server's own words");

      await alert.locator('input[type="password"]').fill(apiKey);
      await alert.getByRole('button', { name: 'Use' }).click();
      await page.locator('[data-endpoint="keyed"]').waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem('reactor.apiKey')), apiKey, 'kept in the browser, under the explorer’s name');
      await page.reload();
      await page.locator('[data-endpoint="keyed"]').waitFor(); // asked once: a reload keeps it
    } finally {
      await context.close();
    }
  });

  it('should tell a wrong key apart from a missing one, quoting the server', async () => {
    const context = await browser.newContext();
    try {
      const { page, errors } = await openWatchedPage(context);
      await page.goto(`${origin}/endpoints/keyed?apiKey=wrong-key`);
      assert.doesNotMatch(page.url(), /apiKey/, 'the key stays out of the address bar');
      const alert = page.locator('.key-needed[role="alert"]');
      await alert.filter({ hasText: 'The server refused this API key' }).waitFor();
      const refusal = await t.gql('{ version }', {}, { 'x-auth-key': 'wrong-key' });
      assert.match(await alert.innerText(), new RegExp(escape(refusal.errors![0]!.message)));
      await alert.locator('input[type="password"]').fill(apiKey);
      await alert.getByRole('button', { name: 'Use' }).click();
      await page.locator('[data-endpoint-page="keyed"]').waitFor();
      assert.equal((await gqlOk(t, '{ endpoint(name: "keyed") { state } }')).endpoint.state, 'PAUSED');
      // The browser logs the refused requests (401) itself; nothing else may fail.
      assert.deepEqual(errors.filter((e) => !/401 \(Unauthorized\)/.test(e)), []);
    } finally {
      await context.close();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
