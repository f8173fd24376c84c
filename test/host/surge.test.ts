// surgeTarget as a table: does a host's last-second reading (and its held requests) want more instances than the endpoint has?
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointConfig } from '../../src/config/index.js';
import type { EndpointView } from '../../src/endpoints/backends.js';
import { surgeTarget, type SurgeSample } from '../../src/host/surge.js';
import type { EndpointState, InstanceRecord, InstanceStatus } from '../../src/store/types.js';

const NOW = new Date('2026-11-29T12:00:00Z');

function view(scaling: string, state: EndpointState = 'RUNNING'): EndpointView {
  const config = parseEndpointConfig(`[endpoint]\nport=5000\n[scaling]\n${scaling}\n[cloud:docker]\nimage=x\n`);
  return { record: { name: 'web', state, configText: '', version: 1, createdAt: NOW, updatedAt: NOW }, config, backends: [] };
}

function instances(...statuses: InstanceStatus[]): InstanceRecord[] {
  return statuses.map((status, i) => ({
    id: `i${i}`,
    endpoint: 'web',
    managerId: 'm',
    containerId: null,
    address: `127.0.0.1:${2000 + i}`,
    status,
    slots: 1,
    reason: null,
    decommissionedAt: null,
    createdAt: NOW,
    updatedAt: NOW,
    term: 1,
  }));
}

const reading = (instancesServing: number, rate: number, held = 0): SurgeSample => ({ instances: instancesServing, metrics: { rate, held } });

describe('surgeTarget', () => {
  const cases: { name: string; view: EndpointView; instances: InstanceRecord[]; sample: SurgeSample; want: number | null }[] = [
    { name: '40 requests/s on one instance whose rule allows under 5: a round for 9', view: view('min_instances=1\nmax_instances=10\nrules=0 < rate < 5'), instances: instances('RUNNING'), sample: reading(1, 40), want: 9 },
    { name: 'within the rules: nothing', view: view('min_instances=1\nmax_instances=10\nrules=0 < rate < 5'), instances: instances('RUNNING'), sample: reading(1, 4), want: null },
    { name: 'the launch already asked for counts (STARTING): nothing more', view: view('min_instances=1\nmax_instances=10\nrules=0 < rate < 5'), instances: instances('RUNNING', 'STARTING'), sample: reading(1, 8), want: null },
    { name: 'already at max_instances: nothing', view: view('min_instances=1\nmax_instances=2\nrules=0 < rate < 5'), instances: instances('RUNNING', 'RUNNING'), sample: reading(2, 50), want: null },
    { name: 'a request held at 0 instances: the first one', view: view('min_instances=0\nmax_instances=3\nrules=0 < rate < 100'), instances: [], sample: reading(0, 0, 1), want: 1 },
    { name: 'held requests and a rule on held: as many as it asks', view: view('min_instances=0\nmax_instances=5\nrules=held < 4'), instances: [], sample: reading(0, 0, 10), want: 3 },
    { name: 'a low reading never asks to scale down', view: view('min_instances=0\nmax_instances=5\nrules=0 < rate < 5'), instances: instances('RUNNING', 'RUNNING', 'RUNNING'), sample: reading(3, 0), want: null },
    { name: 'PAUSED: nothing', view: view('min_instances=0\nmax_instances=5\nrules=0 < rate < 5', 'PAUSED'), instances: [], sample: reading(0, 0, 3), want: null },
    { name: 'rules on metrics the reading has no data for: nothing', view: view('min_instances=1\nmax_instances=5\nrules=0 < response < 100'), instances: instances('RUNNING'), sample: reading(1, 500), want: null },
  ];
  for (const c of cases) {
    it(`should answer ${c.want ?? 'null'}: ${c.name}`, () => assert.equal(surgeTarget(c.view, c.instances, c.sample, NOW), c.want));
  }
});
