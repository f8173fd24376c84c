// The server's pid file names one process for good: a pid reused by another process is never taken for the server (so shutdown never signals it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pidFileLine, runningServer, SERVER_PID_FILE } from '../../src/cli/process-commands.js';

describe('the server pid file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-pidfile-'));
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('should name the process only while the same pid has the same start time', () => {
    const pid = child.pid!;
    writeFileSync(join(dir, SERVER_PID_FILE), pidFileLine(pid));
    assert.equal(runningServer(dir), pid);
    writeFileSync(join(dir, SERVER_PID_FILE), `${pid} 1\n`); // the pid of a process started at another time
    assert.equal(runningServer(dir), null);
    writeFileSync(join(dir, SERVER_PID_FILE), `${pid}\n`); // no start time: not trusted
    assert.equal(runningServer(dir), null);
    rmSync(join(dir, SERVER_PID_FILE));
    assert.equal(runningServer(dir), null);
  });
});
