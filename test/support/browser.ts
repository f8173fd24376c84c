// Headless Debian Chromium for page tests (never downloaded), pages that record their requests and errors, and the bundles built when stale.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds dist/NAME with scripts/build-NAME.mjs when it is missing or older
 * than its sources (src/NAME, src/web and the build scripts).
 */
export async function ensureBundle(name: 'explorer' | 'dashboard'): Promise<void> {
  const builtAt = await stat(join(repo, 'dist', name, 'index.html')).then((s) => s.mtimeMs, () => 0);
  const listed = async (dir: string) => (await readdir(join(repo, dir))).map((file) => join(repo, dir, file));
  const sources = [
    join(repo, 'scripts', `build-${name}.mjs`),
    join(repo, 'scripts', 'bundle-page.mjs'),
    ...(await listed(join('src', name))),
    ...(await listed(join('src', 'web'))),
  ];
  const newest = Math.max(...(await Promise.all(sources.map(async (file) => (await stat(file)).mtimeMs))));
  if (builtAt >= newest) return;
  await promisify(execFile)(process.execPath, [join(repo, 'scripts', `build-${name}.mjs`)], { cwd: repo });
}

export function launchChromium(): Promise<Browser> {
  // Debian's chromium; playwright never downloads a browser here.
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page that records every URL it requests (HTTP and WebSocket) and every error it reports. */
export interface WatchedPage {
  page: Page;
  urls: string[];
  errors: string[];
}

export async function openWatchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('websocket', (socket) => urls.push(socket.url()));
  return { page, urls, errors };
}

/** Every request stayed on this machine (data: URLs never leave the page). */
export function assertAllLocal(urls: string[]): void {
  assert.ok(urls.length > 0, 'the page made no requests at all');
  for (const url of urls) {
    const parsed = new URL(url);
    if (parsed.protocol === 'data:') continue;
    assert.equal(parsed.hostname, '127.0.0.1', `the page requested ${url}, which is not on this machine`);
  }
}
