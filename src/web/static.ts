// Serving a page bundled by scripts/bundle-page.mjs: its content-security policy, its index.html and its hashed, precompressed assets.
import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `<repo>/dist/<name>` (the bundle of one page), found from this file's own
 * place: `<repo>/src/web/` when run from source (tsx), `<repo>/dist/src/web/`
 * when compiled.
 */
export function bundleDir(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up2 = resolve(here, '..', '..');
  const repo = basename(up2) === 'dist' ? dirname(up2) : up2;
  return join(repo, 'dist', name);
}

export function notBuilt(res: Response, message: string): void {
  res.status(503).set('Cache-Control', 'no-store').type('text/plain').send(message);
}

/** The page itself: never cached (its asset links carry content hashes), with the policy below. */
export function sendPage(req: Request, res: Response, next: NextFunction, indexFile: string): void {
  res.set({
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': contentSecurityPolicy(req),
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  });
  res.sendFile(indexFile, { cacheControl: false }, (error) => {
    if (error && !res.headersSent) next(error);
  });
}

/** One asset, cached for a year (the page links it with a content hash), gzipped when the browser accepts it and a .gz copy exists. */
export function sendAsset(req: Request, res: Response, next: NextFunction, path: string, type: string): void {
  const gzipped = `${path}.gz`;
  const useGzip = req.acceptsEncodings('gzip', 'identity') === 'gzip' && existsSync(gzipped);
  res.vary('Accept-Encoding');
  res.set({
    'Content-Type': type,
    'X-Content-Type-Options': 'nosniff',
    ...(useGzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.sendFile(useGzip ? gzipped : path, { maxAge: '365d', immutable: true, acceptRanges: !useGzip }, (error) => {
    if (error && !res.headersSent) next(error);
  });
}

/**
 * The handler of `GET /<page>/:file`: one of the bundle's `assets` (file name →
 * content type) with `sendAsset`; 404 naming an unknown file; 503 with
 * `notBuiltMessage` while the bundle (its index.html) is missing.
 */
export function assetRoute(page: string, assetDir: string, assets: Readonly<Record<string, string>>, notBuiltMessage: string) {
  const indexFile = join(assetDir, 'index.html');
  return (req: Request, res: Response, next: NextFunction): void => {
    const file = req.params.file as string;
    const type = assets[file];
    if (!type) {
      res.status(404).type('text/plain').send(`No ${page} asset named ${JSON.stringify(file)}.\n`);
      return;
    }
    if (!existsSync(indexFile)) return notBuilt(res, notBuiltMessage);
    sendAsset(req, res, next, join(assetDir, file), type);
  };
}

/**
 * Everything from this origin only: the bundle, its inline styles (CodeMirror,
 * React and uPlot set some), fonts and icons embedded as data: URLs, and
 * fetch/WebSocket back to this server. The WebSocket origin is spelled out
 * for browsers whose 'self' does not cover ws:/wss:.
 */
export function contentSecurityPolicy(req: Request): string {
  const host = req.get('host') ?? '';
  const sockets = /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
