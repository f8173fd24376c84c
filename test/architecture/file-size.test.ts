// No source file above about 400 lines: a larger one usually holds two jobs (shared/STYLE.md, "Files that hold one job").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 400;
/** Source code; not data or generated files. */
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs|css)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

/** Lines as `wc -l` counts them, so the report can be checked by hand. */
function lineCount(path: string): number {
  return readFileSync(path, 'utf8').split('\n').length - 1;
}

describe('source file size', () => {
  it(`should keep every file under src/ and resolvers/ at ${MAX_LINES} lines or fewer`, () => {
    const offenders = ['src', 'resolvers']
      .flatMap((dir) => sourceFiles(join(REPO_ROOT, dir)))
      .map((path) => ({ file: relative(REPO_ROOT, path), lines: lineCount(path) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .sort((a, b) => b.lines - a.lines);
    assert.deepEqual(
      offenders.map(({ file, lines }) => `${file}: ${lines} lines`),
      [],
      `${offenders.length} source file(s) above ${MAX_LINES} lines; split each by job:\n` +
        offenders.map(({ file, lines }) => `  ${file}: ${lines} lines`).join('\n'),
    );
  });
});
