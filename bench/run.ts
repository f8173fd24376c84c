// Runs every bench/*.bench.ts, each in a process of its own, prints one table, and writes it to bench/RESULTS.md and the README's benchmark block.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, Benchmark } from './types.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(benchDir, '..');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';
const PURE = ['scaling.bench.ts', 'scheduler.bench.ts', 'replay.bench.ts', 'cluster-round.bench.ts'];

function format(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3).replace(/\.?0+$/, '') || '0';
}

function toTable(results: BenchResult[]): string {
  const rows = results.map(
    (r) => `| ${r.name} | ${format(r.value)} ${r.unit} | ${r.goal || '—'} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'no'} | ${r.note ?? ''} |`,
  );
  return ['| benchmark | result | goal | met | note |', '|---|---|---|---|---|', ...rows].join('\n');
}

/**
 * One benchmark module in a fresh process: what an earlier one left on the
 * heap (and the garbage collector's work on it) must not count against the
 * next. The child prints its results as JSON on stdout.
 */
function inOwnProcess(file: string): Promise<BenchResult[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--one', file],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as BenchResult[])),
    );
    child.stderr?.pipe(process.stderr);
  });
}

async function runOne(file: string): Promise<void> {
  const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { default: Benchmark };
  process.stdout.write(JSON.stringify(await module.default()));
}

async function main() {
  const args = process.argv.slice(2);
  // `--skip NAME` (repeatable): a full run but for those files; their rows are carried over from the last recorded table.
  const skip = args.flatMap((arg, i) => (args[i - 1] === '--skip' ? [arg] : []));
  const only = args.filter((arg, i) => arg !== '--skip' && args[i - 1] !== '--skip');
  const files = readdirSync(benchDir)
    .filter((file) => file.endsWith('.bench.ts'))
    .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
    .filter((file) => !skip.some((name) => file.includes(name)))
    // Pure CPU benchmarks first: the Docker and nginx ones leave the engine busy cleaning up for a while.
    .sort((a, b) => Number(PURE.includes(b)) - Number(PURE.includes(a)) || a.localeCompare(b));
  const results: BenchResult[] = [];
  for (const file of files) {
    process.stderr.write(`bench: ${file}\n`);
    const produced = await inOwnProcess(file);
    for (const result of produced) process.stderr.write(`  ${result.name}: ${format(result.value)} ${result.unit}\n`);
    results.push(...produced);
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`;
  const stamp = new Date().toISOString().slice(0, 10);
  if (only.length > 0) {
    process.stdout.write(`${toTable(results)}\n`);
    return; // a partial run does not overwrite the recorded figures
  }
  const carried = skip.length > 0 ? carriedRows(new Set(results.map((r) => r.name)), skip) : [];
  const table = [toTable(results), ...carried].join('\n');
  process.stdout.write(`${table}\n`);
  writeFileSync(
    join(benchDir, 'RESULTS.md'),
    `# Benchmark results\n\nRecorded by \`npm run bench\` on ${stamp} (${machine}).\n\n${table}\n`,
  );
  const readmePath = join(repoRoot, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start >= 0 && end > start) {
    const block = `${START}\nMeasured on ${stamp} (${machine}):\n\n${table}\n${END}`;
    writeFileSync(readmePath, readme.slice(0, start) + block + readme.slice(end + END.length));
  }
}

/**
 * The rows of the last recorded table that belong to a skipped file (their
 * names carry its name, dashes as spaces), each marked with the date it was recorded.
 */
function carriedRows(measured: ReadonlySet<string>, skipped: readonly string[]): string[] {
  const recorded = readFileSync(join(benchDir, 'RESULTS.md'), 'utf8');
  const when = /Recorded by `npm run bench` on (\S+)/.exec(recorded)?.[1] ?? 'an earlier run';
  return recorded
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| benchmark |'))
    .filter((line) => !measured.has(line.slice(2, line.indexOf(' | '))))
    // A row belongs to a skipped file when its name says so: store-growth.bench.ts's rows are "store growth, …".
    .filter((line) => skipped.some((name) => line.toLowerCase().includes(name.replace(/\.bench\.ts$/, '').replace(/-/g, ' '))))
    .filter((line) => !line.includes('(carried over'))
    .map((line) => `${line.replace(/ \|$/, '')} (carried over from the table of ${when}: \`--skip ${skipped.join(' --skip ')}\` in this run) |`);
}

if (process.argv[2] === '--one') await runOne(process.argv[3]!);
else await main();
