// Tests the GraphiQL explorer: its router on its own, then a real Reactor server driven through headless Debian Chromium (queries, subscriptions, API key, nothing fetched off the machine).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { explorerRouter } from '../../src/explorer/serve.js';
import { assertAllLocal, ensureBundle, launchChromium, openWatchedPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const assetDir = join(repo, 'dist', 'explorer');
const SCREENSHOT = '/tmp/explorer.png';

const MANAGE_WEB = 'mutation($c: String!) { manageEndpoint(name: "web", config: $c) { name } }';
const WEB_CONFIG =
  '[endpoint]\nurl=http://\nport=80\n[scaling]\nmin_instances=1\nmax_instances=2\n[cloud:docker]\nimage=reactor-test/httpd:1\n';
const EVENTS_SUBSCRIPTION = 'subscription { endpointEvents { kind endpoint } }';
/** The event as GraphiQL prints it (later events may follow it, so the pane is matched, not compared whole). */
const WEB_MANAGED_EVENT = /"endpointEvents":\s*\{\s*"kind":\s*"ENDPOINT_MANAGED",\s*"endpoint":\s*"web"\s*\}/;

/** The explorer, driven the way an operator drives it: type into the query editor, press the run button, read the result pane. */
class Explorer {
  readonly queryEditor;
  readonly resultPane;
  readonly runButton;
  readonly stopButton;

  constructor(readonly page: Page) {
    this.queryEditor = page.locator('.graphiql-query-editor .CodeMirror');
    this.resultPane = page.locator('.graphiql-response .CodeMirror-code');
    this.runButton = page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' });
    this.stopButton = page.getByRole('button', { name: 'Stop query (Ctrl-Enter)' });
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator('.graphiql-container').waitFor();
    await this.queryEditor.waitFor();
  }

  async type(query: string): Promise<void> {
    await this.queryEditor.click();
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Backspace');
    await this.page.keyboard.insertText(query);
    // The editor shows the new text; the explorer's fetcher parses the text it
    // sends, so there is no need to wait for GraphiQL's own re-parse.
    await this.queryEditor.filter({ hasText: query }).waitFor();
  }

  async waitForResult(text: string | RegExp): Promise<unknown> {
    await this.resultPane.filter({ hasText: text }).waitFor();
    // CodeMirror lays text out with non-breaking spaces and zero-width marks.
    const shown = (await this.resultPane.innerText()).replace(/\u00a0/g, ' ').replace(/\u200b/g, '');
    try {
      return JSON.parse(shown);
    } catch {
      assert.fail(`the result pane does not hold JSON: ${JSON.stringify(shown)}`);
    }
  }
}

describe('explorerRouter', () => {
  let app: Server;
  let origin: string;
  let emptyDir: string;

  before(async () => {
    await ensureBundle('explorer');
    emptyDir = await mkdtemp(join(tmpdir(), 'reactor-explorer-'));
    const router = express();
    router.use('/built', explorerRouter(assetDir));
    router.use('/missing', explorerRouter(emptyDir));
    router.use((req, res) => res.status(299).send('fell through'));
    app = createServer(router);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => app.close(resolve));
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('should serve the page to a browser asking for HTML at /graphql', async () => {
    const res = await fetch(`${origin}/built/graphql?apiKey=x`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('vary') ?? '', /Accept/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await res.text();
    assert.match(html, /<title>Reactor explorer<\/title>/);
    assert.match(html, /src="\/explorer\/explorer\.js\?v=[0-9a-f]+"/);
    assert.match(html, /href="\/explorer\/explorer\.css\?v=[0-9a-f]+"/);
  });

  it('should leave every other request to /graphql to the GraphQL server', async () => {
    assert.equal((await fetch(`${origin}/built/graphql`, { headers: { accept: 'application/json' } })).status, 299);
    assert.equal((await fetch(`${origin}/built/graphql`)).status, 299);
    const post = await fetch(`${origin}/built/graphql`, { method: 'POST', headers: { accept: 'text/html' } });
    assert.equal(post.status, 299);
  });

  it('should serve the assets with long cache headers, gzipped when accepted', async () => {
    const js = await fetch(`${origin}/built/explorer/explorer.js?v=1`); // fetch accepts gzip and inflates
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(js.headers.get('content-encoding'), 'gzip');
    assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
    assert.ok((await js.text()).length > 100_000);
    const css = await fetch(`${origin}/built/explorer/explorer.css`, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal(css.headers.get('content-encoding'), null);
    assert.match(await css.text(), /graphiql-container/);
    assert.equal((await fetch(`${origin}/built/explorer/nothing.js`)).status, 404);
    assert.equal((await fetch(`${origin}/built/explorer/..%2Fexplorer%2Findex.html`)).status, 404);
  });

  it('should answer 503 with a hint to build while the bundle is missing', async () => {
    for (const path of ['/missing/graphql', '/missing/explorer/explorer.js']) {
      const res = await fetch(`${origin}${path}`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 503, path);
      const body = await res.text();
      assert.match(body, /npm run build/);
      assert.equal(body.trim().split('\n').length, 1, 'one line');
    }
  });
});

describe('the explorer in a browser', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    await ensureBundle('explorer');
    [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('should run a query and stream a subscription through GraphiQL, fetching nothing from off the machine', async () => {
    const version = (await server.gql('{ version }')).data?.version;
    assert.equal(typeof version, 'string');

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const watched = await openWatchedPage(context);
      const explorer = new Explorer(watched.page);
      await explorer.open(server.url);
      assert.equal(await watched.page.title(), 'Reactor explorer');
      await watched.page.locator('.graphiql-logo', { hasText: 'Reactor explorer' }).waitFor();
      await watched.page.locator('.graphiql-logo a[href="/"]', { hasText: 'Dashboard' }).waitFor(); // the way back to the dashboard
      await explorer.queryEditor.filter({ hasText: 'endpoints' }).waitFor(); // the default query

      await explorer.type('{ version }');
      await explorer.runButton.click();
      assert.deepEqual(await explorer.waitForResult(version), { data: { version } });

      await explorer.type(EVENTS_SUBSCRIPTION);
      await explorer.runButton.click();
      await explorer.stopButton.waitFor(); // GraphiQL holds the subscription open
      await server.subscribed('endpointEvents'); // and the server has registered it
      const managed = await server.gql(MANAGE_WEB, { c: WEB_CONFIG });
      assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
      assert.equal(managed.data?.manageEndpoint?.name, 'web');
      await explorer.resultPane.filter({ hasText: WEB_MANAGED_EVENT }).waitFor();
      await watched.page.screenshot({ path: SCREENSHOT });

      assert.ok(
        watched.urls.some((url) => url.startsWith('ws://127.0.0.1:')),
        `the subscription did not use a WebSocket: ${watched.urls.join(', ')}`,
      );
      assertAllLocal(watched.urls);
      assert.deepEqual(watched.errors, []);
    } finally {
      await context.close();
    }
  });

  it('should refuse a subscription sent over HTTP with an error that points at the WebSocket', async () => {
    const result = await server.gql(EVENTS_SUBSCRIPTION);
    assert.ok(result.errors?.length, `expected an error, got ${JSON.stringify(result)}`);
    assert.match(result.errors[0].message, /WebSocket/i);
    assert.equal(result.data?.endpointEvents ?? undefined, undefined);
  });
});

describe('the explorer with an API key', { timeout: 120_000 }, () => {
  const apiKey = 'explorer-test-key';
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    await ensureBundle('explorer');
    [server, browser] = await Promise.all([startTestServer({ apiKey }), launchChromium()]);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('should take the key from ?apiKey=, remember it, and send it over HTTP and the WebSocket', async () => {
    const version = (await server.gql('{ version }')).data?.version;
    const context = await browser.newContext();
    try {
      const watched = await openWatchedPage(context);
      const explorer = new Explorer(watched.page);
      await explorer.open(`${server.url}?apiKey=${apiKey}`);
      assert.doesNotMatch(watched.page.url(), /apiKey/, 'the key stays out of the address bar');
      assert.equal(await watched.page.evaluate(() => localStorage.getItem('reactor.apiKey')), apiKey);

      await explorer.type('{ version }');
      await explorer.runButton.click();
      assert.deepEqual(await explorer.waitForResult(version), { data: { version } });

      await explorer.type(EVENTS_SUBSCRIPTION);
      await explorer.runButton.click();
      await server.subscribed('endpointEvents'); // only a WebSocket carrying the key gets this far
      const managed = await server.gql(MANAGE_WEB, { c: WEB_CONFIG });
      assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
      await explorer.resultPane.filter({ hasText: WEB_MANAGED_EVENT }).waitFor();
      await explorer.stopButton.click(); // unsubscribes; the socket closes
      assertAllLocal(watched.urls);
      assert.deepEqual(watched.errors, []);

      // A reload keeps the remembered key.
      await explorer.open(server.url);
      await explorer.type('{ version }');
      await explorer.runButton.click();
      assert.deepEqual(await explorer.waitForResult(version), { data: { version } });
    } finally {
      await context.close();
    }
  });

  it('should show the server refusing a browser that has no key', async () => {
    const context = await browser.newContext();
    try {
      const explorer = new Explorer(await context.newPage());
      await explorer.open(server.url); // the page itself needs no key
      await explorer.type('{ version }');
      await explorer.runButton.click();
      await explorer.waitForResult('UNAUTHENTICATED');
    } finally {
      await context.close();
    }
  });
});
