// The host's repair diff as a table: records of an endpoint against this engine's containers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentContainer } from '../../src/agents/types.js';
import { diffHost } from '../../src/host/repair.js';
import type { InstanceStatus } from '../../src/model/states.js';
import type { InstanceRecord } from '../../src/store/types.js';

const T = new Date(Date.UTC(2026, 0, 1));

function rec(id: string, status: InstanceStatus, { manager = 'me', container = null as string | null, address = null as string | null } = {}): InstanceRecord {
  return { id, endpoint: 'web', managerId: manager, containerId: container, address, status, slots: 1, reason: null, decommissionedAt: null, createdAt: T, updatedAt: T, term: 0 };
}

function box(containerId: string, instanceId: string, { running = true, address = `127.0.0.1:${containerId.length}` } = {}): AgentContainer {
  return { containerId, instanceId, endpoint: 'web', slots: 1, running, state: running ? 'running' : 'exited', address };
}

/** Each action as a short line: `kind target`. */
function lines(records: InstanceRecord[], containers: AgentContainer[]): string[] {
  return diffHost({ managerId: 'me', records, containers }).map((a) => {
    switch (a.kind) {
      case 'orphan':
        return `orphan ${a.container.containerId}: ${a.why}`;
      case 'adopt':
        return `adopt ${a.record.id}←${a.container.containerId}`;
      case 'lost':
        return `lost ${a.record.id} (${a.why})${a.beforeReady ? ' before ready' : ''}${a.remove ? ` remove ${a.remove.containerId}` : ''}`;
      case 'clear':
        return `clear ${a.record.id}${a.container ? ` with ${a.container.containerId}` : ''}`;
      default:
        return `${a.kind} ${a.record.id}`;
    }
  });
}

describe('diffHost', () => {
  const cases: { name: string; records: InstanceRecord[]; containers: AgentContainer[]; want: string[] }[] = [
    { name: 'nothing to do when records and containers agree', records: [rec('a', 'RUNNING', { container: 'c1', address: '127.0.0.1:2' })], containers: [box('c1', 'a')], want: [] },
    { name: 'a STARTING record of ours with no container is launched', records: [rec('a', 'STARTING')], containers: [], want: ['launch a'] },
    { name: 'a STARTING record on another manager is not ours to launch', records: [rec('a', 'STARTING', { manager: 'other' })], containers: [], want: [] },
    { name: 'a PENDING record waits for the controller', records: [rec('a', 'PENDING', { manager: null as unknown as string })], containers: [], want: [] },
    { name: 'a running container the record does not know is adopted', records: [rec('a', 'STARTING')], containers: [box('c1', 'a')], want: ['adopt a←c1'] },
    { name: 'a STARTING instance whose container runs is watched for readiness', records: [rec('a', 'STARTING', { container: 'c1', address: '127.0.0.1:2' })], containers: [box('c1', 'a')], want: ['watch a'] },
    { name: 'a container that never ran is cleared away and its instance lost before ready', records: [rec('a', 'STARTING')], containers: [box('c1', 'a', { running: false })], want: ['lost a (container c1 exited) before ready remove c1'] },
    { name: 'a RUNNING instance whose container exited is lost', records: [rec('a', 'RUNNING', { container: 'c1', address: '127.0.0.1:2' })], containers: [box('c1', 'a', { running: false })], want: ['lost a (container c1 exited) remove c1'] },
    { name: 'a RUNNING instance whose container vanished is lost', records: [rec('a', 'RUNNING', { container: 'c1', address: 'x' })], containers: [], want: ['lost a (container c1 is gone)'] },
    { name: 'a DECOMMISSIONED instance is kept while its container runs', records: [rec('a', 'DECOMMISSIONED', { container: 'c1', address: '127.0.0.1:2' })], containers: [box('c1', 'a')], want: [] },
    { name: 'a REMOVING record is cleared with its container', records: [rec('a', 'REMOVING', { container: 'c1' })], containers: [box('c1', 'a')], want: ['clear a with c1'] },
    { name: 'a REMOVING record without a container is cleared alone', records: [rec('a', 'REMOVING')], containers: [], want: ['clear a'] },
    { name: 'ERROR and LOST wait for the controller', records: [rec('a', 'ERROR', { container: 'c1' }), rec('b', 'LOST')], containers: [box('c1', 'a')], want: [] },
    { name: 'a container no record owns is an orphan', records: [], containers: [box('c9', 'ghost')], want: ['orphan c9: no instance of web owns it'] },
    {
      name: 'a container whose record went to another manager is an orphan here',
      records: [rec('a', 'RUNNING', { manager: 'other', container: 'c7', address: 'y' })],
      containers: [box('c1', 'a')],
      want: ['orphan c1: its instance a is assigned to manager other'],
    },
    {
      name: 'the worked example: adopt, lost, clear, orphan',
      records: [rec('a', 'STARTING'), rec('b', 'RUNNING', { container: 'c2', address: '127.0.0.1:2' }), rec('c', 'REMOVING', { container: 'c3' }), rec('d', 'RUNNING', { manager: 'other' })],
      containers: [box('c1', 'a'), box('c2', 'b', { running: false }), box('c3', 'c'), box('c9', 'nobody')],
      want: ['adopt a←c1', 'lost b (container c2 exited) remove c2', 'clear c with c3', 'orphan c9: no instance of web owns it'],
    },
  ];
  for (const c of cases) {
    it(`should find: ${c.name}`, () => assert.deepEqual(lines(c.records, c.containers), c.want));
  }

  it('should find containers by instance label in long lists too (indexed above 32)', () => {
    const records = Array.from({ length: 40 }, (_, n) => rec(`i${n}`, 'RUNNING', { container: `c${n}`, address: `127.0.0.1:${`c${n}`.length}` }));
    const containers = records.map((r) => box(r.containerId!, r.id));
    assert.deepEqual(lines(records, [...containers, box('stray', 'nobody')]), ['orphan stray: no instance of web owns it']);
  });
});
