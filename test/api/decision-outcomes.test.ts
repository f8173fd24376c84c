// What was wanted but not done, read over GraphQL from real decisions: no room (each manager's reason), deferred by the launch back-off (until when), a decommission that became an immediate removal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureTestImage, TEST_IMAGE } from '../support/images.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

interface Action {
  kind: string;
  instance: string | null;
  manager: string | null;
  reason: string;
  outcome: string;
  until: string | null;
}
interface Decision {
  id: string;
  summary: string;
  notes: string[];
  actions: Action[];
}

function conf(name: string, { slots = 1, min = 1, max = 5, image = TEST_IMAGE, command = '' } = {}): string {
  return `[endpoint]\nurl=http://${name}.test\nloadbalancer=none\nport=5000\n[scaling]\nmin_instances=${min}\nmax_instances=${max}\n[cloud:docker]\nimage=${image}\nslots=${slots}\n${command ? `command=${command}\n` : ''}`;
}

describe('decisions say what was wanted but not done, and why', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    // A long interval: only trigger rounds (start, config changes, host reports) decide here.
    t = await startTestServer({ agent: true, name: 'outcomes-host', slots: 20, interval: 3600 });
  });
  after(async () => t?.close());

  async function start(name: string, config: string): Promise<void> {
    const managed = await t.gql('mutation($n: String!, $c: String!) { manageEndpoint(name: $n, config: $c) { name } }', { n: name, c: config });
    assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
    await t.gql('mutation($n: String!) { setEndpointState(name: $n, state: RUNNING) { state } }', { n: name });
  }

  /** The first decision of `name` with an action of `outcome`. */
  function decisionWith(name: string, outcome: string): Promise<{ decision: Decision; action: Action }> {
    return waitFor(
      async () => {
        const { data, errors } = await t.gql(
          'query($n: String!) { endpoint(name: $n) { decisions { id summary notes actions { kind instance manager reason outcome until } } } }',
          { n: name },
        );
        assert.equal(errors, undefined, JSON.stringify(errors));
        for (const decision of data.endpoint.decisions as Decision[]) {
          const action = decision.actions.find((a) => a.outcome === outcome);
          if (action) return { decision, action };
        }
        return null;
      },
      { timeoutMs: 30_000, what: `a decision of ${name} with a ${outcome} action` },
    );
  }

  it('should say NO_ROOM with the reason of every manager when no manager has the slots', async () => {
    await start('big', conf('big', { slots: 30 }));
    const { decision, action } = await decisionWith('big', 'NO_ROOM');
    assert.equal(action.kind, 'LAUNCH');
    assert.equal(action.manager, null);
    assert.ok(action.instance, 'the waiting instance is named');
    assert.match(action.reason, /outcomes-host: needs 30 slots, \d+ of 20 free/);
    assert.match(decision.summary, /1 launch found no room: no manager can take 30 slots/);
    const pending = (await t.gql('{ instances(endpoint: "big") { id status reason } }')).data.instances;
    assert.deepEqual(pending.map((i: { id: string; status: string }) => [i.id, i.status]), [[action.instance, 'PENDING']]);
  });

  it('should say DEFERRED, and until when, while the launch back-off runs', async () => {
    await start('ghost', conf('ghost', { image: 'reactor-test/missing:never' }));
    const { decision, action } = await decisionWith('ghost', 'DEFERRED');
    assert.equal(action.kind, 'LAUNCH');
    assert.ok(action.until, 'a deferred launch says until when');
    assert.match(action.reason, /deferred by the launch back-off until \d{4}-\d\d-\d\dT/);
    assert.ok(decision.notes.some((n) => /deferred by the launch back-off until/.test(n)), decision.notes.join(' | '));
    await t.gql('mutation { setEndpointState(name: "ghost", state: STOPPED) { state } }');
  });

  it('should say REMOVED when a decommission had nothing to drain (the instance never joined the balancer)', async () => {
    // `sleep` never answers HTTP: both instances stay STARTING.
    await start('sleepy', conf('sleepy', { min: 2, command: 'sleep 3600' }));
    await waitFor(async () => {
      const list = (await t.gql('{ instances(endpoint: "sleepy") { status address } }')).data.instances as { status: string; address: string | null }[];
      return list.length === 2 && list.every((i) => i.status === 'STARTING' && i.address !== null);
    }, { what: 'two STARTING instances with containers' });
    await t.gql('mutation { setEndpointOption(name: "sleepy", section: "scaling", key: "min_instances", value: "1") { version } }');
    await t.gql('mutation { setEndpointOption(name: "sleepy", section: "scaling", key: "max_instances", value: "1") { version } }');
    const { decision, action } = await decisionWith('sleepy', 'REMOVED');
    assert.equal(action.kind, 'DECOMMISSION');
    assert.match(action.reason, /removed at once: it never joined the balancer, nothing to drain/);
    assert.ok(action.manager, 'the manager it was on');
    assert.ok(decision.notes.some((n) => n.includes(`decommission of ${action.instance} became an immediate removal`)));
    await waitFor(async () => (await t.gql('{ instances(endpoint: "sleepy") { id } }')).data.instances.length === 1, { what: 'one instance left' });
  });
});
