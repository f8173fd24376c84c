// The nginx restart back-off on a manual clock: real masters killed for real, the delay before each restart counted in clock time instead of waited for.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findExecutable } from '../../src/managers/probe.js';
import { NginxDriver } from '../../src/nginx/driver.js';
import type { DriverReport } from '../../src/nginx/report.js';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { ManualTime } from '../../src/time/timers.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../../src/util/ports.js';

describe('nginx restart back-off', () => {
  const time = new ManualTime();
  const reports: DriverReport[] = [];
  let dir: string;
  let prefix: string;
  let driver: NginxDriver;

  /**
   * Waits for `condition` while real nginx starts or stops, moving the clock
   * 5 ms per real poll so that the driver's own waits (its polls of the
   * control server, its wait for leftover workers) go on. Used only while no
   * restart is pending, so the back-off never fires here.
   */
  async function drive(condition: () => boolean, what: string): Promise<void> {
    await waitFor(
      async () => {
        if (condition()) return true;
        await time.advance(5);
        return false;
      },
      { what, intervalMs: 2 },
    );
  }

  async function finish<T>(work: Promise<T>, what: string): Promise<T> {
    let done = false;
    const result = work.finally(() => (done = true));
    await drive(() => done, what);
    return result;
  }

  /** Kills the master; resolves once the driver has seen it die (the clock stands still meanwhile). */
  async function kill(): Promise<{ pid: number; report: DriverReport }> {
    const pid = driver.pid!;
    const seen = reports.length;
    process.kill(pid, 'SIGKILL');
    const report = await waitFor(() => reports[seen], { what: 'the report of the death' });
    return { pid, report };
  }

  /** A new master serves, and the dead one's workers (which served meanwhile) are ended. */
  async function restarted(pid: number, generation: number): Promise<void> {
    await drive(() => driver.running && driver.pid !== pid && driver.generation > generation, 'a new master serving');
    const master = driver.pid!;
    const parent = (child: number) => {
      const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    };
    await drive(() => markedProcesses(prefix).every((p) => p === master || parent(p) === master), 'the old workers ended');
    await drive(() => time.pending === 0, 'the driver done waiting for them');
  }

  before(async () => {
    const binary = findExecutable('nginx');
    assert.ok(binary, 'nginx is installed');
    dir = mkdtempSync(join(tmpdir(), 'reactor-backoff-'));
    prefix = join(dir, 'nginx');
    driver = new NginxDriver({
      binary,
      prefix,
      listenAddress: '127.0.0.1',
      syslogPort: await freePort(),
      // A start never times out on this clock: the clock runs faster than real time here.
      reloadTimeoutMs: 600_000,
      time,
      report: (report) => void reports.push(report),
    });
    await finish(driver.start(), 'nginx started');
    assert.ok(driver.running);
  });

  after(async () => {
    if (driver) await finish(driver.stop(), 'nginx stopped');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should start a killed master again at once', async () => {
    const generation = driver.generation;
    const { pid, report } = await kill();
    assert.equal(report.kind, 'BALANCER_RESTARTED');
    assert.match(report.message, /^nginx was killed by SIGKILL; restarting now$/);
    assert.equal(report.data.delayMs, 0);
    assert.equal(driver.running, false);
    assert.equal(time.pending, 1, 'only the restart waits');
    await time.advance(0);
    await restarted(pid, generation);
  });

  it('should back off from the second death of a master that dies young, doubling, and start over after 10 s of uptime', async () => {
    let generation = driver.generation;
    const young = await kill();
    assert.equal(young.report.data.delayMs, 250);
    await time.advance(249);
    assert.equal(driver.running, false);
    await time.advance(1);
    await restarted(young.pid, generation);

    generation = driver.generation;
    const younger = await kill();
    assert.equal(younger.report.data.delayMs, 500);
    await time.advance(499);
    assert.equal(driver.running, false);
    await time.advance(1);
    await restarted(younger.pid, generation);

    await time.advance(10_001);
    generation = driver.generation;
    const stable = await kill();
    assert.equal(stable.report.data.delayMs, 0);
    await time.advance(0);
    await restarted(stable.pid, generation);
  });

  it('should cancel a pending restart when it stops, and leave no process of its prefix', async () => {
    const { report } = await kill();
    assert.equal(report.data.delayMs, 250, 'a master that dies young waits');
    assert.equal(time.pending, 1);
    await finish(driver.stop(), 'nginx stopped');
    assert.equal(time.pending, 0, 'the restart is cancelled');
    await time.advance(60_000);
    assert.equal(driver.running, false);
    assert.deepEqual(markedProcesses(prefix), []);
  });
});
