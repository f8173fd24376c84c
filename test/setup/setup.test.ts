// A newcomer's setup: the Node we state is one every locked package supports (so npm ci prints no EBADENGINE), and `reactor` on PATH runs the clone whose setup ran last.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The Node version README, package.json and setup.sh state as the least supported. */
const STATED = [20, 19, 0] as const;

type Version = readonly number[];

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/**
 * Whether `version` satisfies an npm "engines" range, for the forms the lock
 * file holds: `>=X`, `>= X`, `^X.Y.Z`, `~X.Y`, `X`, `X.x`, `X.*`, `*`, joined
 * by spaces (and) and `||` (or).
 */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const comparators = [...alternative.matchAll(/(>=|<=|>|<|\^|~|=)?\s*(\*|[0-9x*]+(?:\.[0-9x*]+){0,2})/g)];
    if (comparators.length === 0) return alternative.trim() === '';
    return comparators.every(([, op = '', text]) => {
      const parts = text!.split('.');
      const wild = parts.findIndex((p) => p === 'x' || p === '*');
      const given = (wild < 0 ? parts : parts.slice(0, wild)).map(Number);
      const base = [given[0] ?? 0, given[1] ?? 0, given[2] ?? 0];
      switch (op) {
        case '>=':
          return compare(version, base) >= 0;
        case '>':
          return compare(version, base) > 0;
        case '<':
          return compare(version, base) < 0;
        case '<=':
          return compare(version, base) <= 0;
        case '^':
          return compare(version, base) >= 0 && version[0] === base[0];
        case '~':
          return compare(version, base) >= 0 && version[0] === base[0] && version[1] === base[1];
        default:
          return given.every((n, i) => version[i] === n);
      }
    });
  });
}

describe('the Node version we state', () => {
  it('should read the same in package.json, the README and setup.sh', () => {
    const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    assert.equal(engines, '>=20.19');
    assert.match(readFileSync(join(root, 'README.md'), 'utf8'), /Node\.js >= 20\.19/);
    assert.match(readFileSync(join(root, 'scripts/setup.sh'), 'utf8'), /a === 20 && b >= 19/);
  });

  it('should be supported by every package in the lock file (npm ci prints no EBADENGINE)', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const refusing = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines && !Array.isArray(entry.engines) && typeof entry.engines.node === 'string')
      .filter(([, entry]) => !satisfies(STATED, (entry.engines as { node: string }).node))
      .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${(entry.engines as { node: string }).node}`);
    assert.deepEqual(refusing, []);
  });

  it('should read engines ranges as npm does', () => {
    assert.equal(satisfies(STATED, '>=22.15.0'), false);
    assert.equal(satisfies(STATED, '^20.17.0 || >=22.9.0'), true);
    assert.equal(satisfies(STATED, '20.x || 22.x'), true);
    assert.equal(satisfies(STATED, '>= 10.x'), true);
    assert.equal(satisfies(STATED, '^16 || ^18'), false);
    assert.equal(satisfies(STATED, '*'), true);
  });
});

describe('reactor on PATH after setup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-link-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A clone with only what linking needs: package.json, bin/reactor.js (which says which clone it is) and scripts/link-cli.sh. */
  function clone(name: string): string {
    const path = join(dir, name);
    mkdirSync(join(path, 'bin'), { recursive: true });
    mkdirSync(join(path, 'scripts'), { recursive: true });
    writeFileSync(join(path, 'package.json'), JSON.stringify({ name: 'reactor', version: '0.0.0', bin: { reactor: 'bin/reactor.js' } }));
    writeFileSync(join(path, 'bin/reactor.js'), `#!/usr/bin/env node\nconsole.log(${JSON.stringify(name)});\n`);
    chmodSync(join(path, 'bin/reactor.js'), 0o755);
    copyFileSync(join(root, 'scripts/link-cli.sh'), join(path, 'scripts/link-cli.sh'));
    return path;
  }

  // npm's global prefix and PATH of their own: the machine's global reactor is not touched.
  const prefix = join(dir, 'global');
  const env = { ...process.env, npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` };
  const run = (file: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(file, args, { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });

  it("should make reactor run the second clone's code, and say it replaced the first", async () => {
    const first = clone('first');
    const second = clone('second');
    const one = await run('bash', [join(first, 'scripts/link-cli.sh')]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, new RegExp(`reactor on PATH runs this checkout: ${first}/bin/reactor.js`));
    assert.equal((await run('reactor', [])).stdout, 'first\n');

    const two = await run('bash', [join(second, 'scripts/link-cli.sh')]);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, new RegExp(`reactor on PATH ran ${first}/bin/reactor.js; linking it to this checkout`));
    assert.match(two.stderr, new RegExp(`reactor on PATH runs this checkout: ${second}/bin/reactor.js`));
    assert.equal((await run('reactor', [])).stdout, 'second\n');

    // Running it again changes nothing and says so.
    const again = await run('bash', [join(second, 'scripts/link-cli.sh')]);
    assert.doesNotMatch(again.stderr, /linking/);
    assert.match(again.stderr, /runs this checkout/);
  });
});
