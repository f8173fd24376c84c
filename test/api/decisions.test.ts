// Scaling decisions over real HTTP and WebSocket: the typed fields (rules, ranges, actions) agree with the raw record of decisions the control loop made.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/util/ports.js';
import { ensureTestImage, TEST_IMAGE } from '../support/images.js';
import { startTestServer, take, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const TYPED = `
  id at round cause state current target after conflict rampLimit rampCut held notes summary record
  inputs { metrics reported current minInstances maxInstances rampLimit decommissionedTimeout rules }
  rules { rule metric value total min max }
  ideal { min max }
  clamped { min max }
  actions { kind direction count instance manager reason outcome until }
`;

interface TypedDecision {
  id: string;
  round: string;
  cause: string;
  state: string;
  current: number;
  target: number;
  after: number;
  conflict: boolean;
  rampLimit: number | null;
  rampCut: number;
  held: string | null;
  notes: string[];
  summary: string;
  record: any;
  inputs: Record<string, unknown>;
  rules: { rule: string; metric: string; value: number | null; total: number | null; min: number; max: number | null }[];
  ideal: { min: number; max: number | null };
  clamped: { min: number; max: number };
  actions: {
    kind: string;
    direction: string;
    count: number;
    instance: string | null;
    manager: string | null;
    reason: string;
    outcome: string;
    until: string | null;
  }[];
}

const upper = (s: string) => s.toUpperCase().replace(/-/g, '_');

/** The typed fields must say what the raw record says, field by field. */
function assertMatchesRecord(d: TypedDecision): void {
  const r = d.record;
  assert.equal(d.round, upper(r.round));
  assert.equal(d.cause, r.cause);
  assert.equal(d.state, r.state);
  for (const key of ['current', 'target', 'after', 'conflict', 'rampLimit', 'rampCut', 'held', 'notes', 'summary', 'ideal', 'clamped', 'inputs'] as const) {
    assert.deepEqual(d[key], r[key], `${key} of decision ${d.id}`);
  }
  assert.deepEqual(
    d.rules,
    r.rules.map((rule: any) => ({ rule: rule.rule, metric: rule.metric, value: rule.average, total: rule.total, min: rule.min, max: rule.max })),
  );
  // Applied actions when the controller kept them, else the plan taken as done.
  const expected = Array.isArray(r.applied)
    ? r.applied.map((a: any) => ({
        kind: upper(a.kind),
        direction: upper(a.direction),
        count: 1,
        instance: a.instanceId,
        manager: a.managerId,
        reason: a.reason,
        outcome: upper(a.outcome),
        until: a.until === null ? null : new Date(a.until).toISOString(),
      }))
    : r.actions.map((a: any) => ({
        kind: upper(a.kind),
        direction: upper(a.direction),
        count: a.count,
        instance: a.instanceId,
        manager: null,
        reason: a.reason,
        outcome: 'DONE',
        until: null,
      }));
  assert.deepEqual(d.actions, expected, `actions of decision ${d.id}`);
}

describe('scaling decisions over GraphQL', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    t = await startTestServer({ agent: true, name: 'decisions-host', interval: 1 });
  });
  after(async () => {
    await t?.close();
  });

  it('should read decisions with typed rules and actions that match the record', async () => {
    const port = await freePort();
    const config = `[endpoint]\nurl=http://:${port}/\nloadbalancer=nginx\nport=5000\n\n[scaling]\nmin_instances=2\nmax_instances=3\nrules=rate < 10,active <= 4\n\n[cloud:docker]\nimage=${TEST_IMAGE}\ncommand=/usr/local/bin/runapp\n`;
    const managed = await t.gql('mutation($c: String!) { manageEndpoint(name: "typed", config: $c) { name } }', { c: config });
    assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
    await t.gql('mutation { setEndpointState(name: "typed", state: RUNNING) { state } }');

    // The first evaluation launches up to min_instances; a later one has a sample, so the rules are evaluated.
    const decisions = await waitFor(
      async () => {
        const { data, errors } = await t.gql(`{ endpoint(name: "typed") { decisions { ${TYPED} } } }`);
        assert.equal(errors, undefined, JSON.stringify(errors));
        const list = data.endpoint.decisions as TypedDecision[];
        const evaluated = list.some((d) => d.round === 'EVALUATE' && d.rules.length === 2);
        const launched = list.some((d) => d.actions.some((a) => a.kind === 'LAUNCH'));
        return evaluated && launched ? list : null;
      },
      { timeoutMs: 20_000, what: 'a decision that launched and one that evaluated the rules' },
    );
    for (const d of decisions) assertMatchesRecord(d);

    const launch = decisions.find((d) => d.actions.some((a) => a.kind === 'LAUNCH'))!;
    assert.equal(launch.state, 'RUNNING');
    assert.equal(launch.target, 2);
    const launched = launch.actions.filter((a) => a.kind === 'LAUNCH');
    assert.equal(launched.reduce((n, a) => n + a.count, 0), 2);
    assert.ok(launched.every((a) => a.direction === 'UP' && a.reason.length > 0), JSON.stringify(launched));

    const evaluation = decisions.find((d) => d.round === 'EVALUATE' && d.rules.length === 2)!;
    assert.deepEqual(
      evaluation.rules.map((r) => [r.rule, r.metric]),
      [
        ['rate < 10', 'rate'],
        ['active <= 4', 'active'],
      ],
    );
    // No traffic: each rule accepts any count from 0 up, unbounded.
    for (const rule of evaluation.rules) {
      assert.equal(rule.value, 0);
      assert.equal(rule.max, null, `${rule.rule} is unbounded`);
    }
    assert.deepEqual(evaluation.inputs.minInstances, 2);
    assert.deepEqual(evaluation.inputs.rules, 'rate < 10,active <= 4');
  });

  it('should read exactly the fields outside checks rely on', async () => {
    const { data, errors } = await t.gql(
      '{ endpoint(name: "typed") { decisions { target rules { rule metric value min max } actions { kind instance manager reason outcome } record } } }',
    );
    assert.equal(errors, undefined, JSON.stringify(errors));
    const decisions = data.endpoint.decisions as { target: number; rules: unknown[]; actions: unknown[]; record: any }[];
    assert.ok(decisions.length > 0);
    for (const d of decisions) {
      assert.equal(d.target, d.record.target);
      assert.deepEqual(
        d.rules,
        d.record.rules.map((r: any) => ({ rule: r.rule, metric: r.metric, value: r.average, min: r.min, max: r.max })),
      );
      const actions = Array.isArray(d.record.applied)
        ? d.record.applied.map((a: any) => ({ kind: a.kind.toUpperCase(), instance: a.instanceId, manager: a.managerId, reason: a.reason, outcome: a.outcome.toUpperCase().replace(/-/g, '_') }))
        : d.record.actions.map((a: any) => ({ kind: a.kind.toUpperCase(), instance: a.instanceId, manager: null, reason: a.reason, outcome: 'DONE' }));
      assert.deepEqual(d.actions, actions);
    }
  });

  it('should stream decisions with typed fields over graphql-ws', async () => {
    const client = t.ws();
    const sub = take<{ scalingDecisions: TypedDecision }>(
      client,
      `subscription($e: String) { scalingDecisions(endpoint: $e) { ${TYPED} } }`,
      { e: 'typed' },
      1,
    );
    await t.subscribed('scalingDecisions');
    // A holding decision that repeats the last one is not stored every round: a change makes the next one new.
    await t.gql('mutation { setEndpointOption(name: "typed", section: "scaling", key: "max_instances", value: "4") { version } }');
    const [item] = await sub.done;
    assert.equal(item!.scalingDecisions.record.endpoint, 'typed');
    assertMatchesRecord(item!.scalingDecisions);
  });
});
