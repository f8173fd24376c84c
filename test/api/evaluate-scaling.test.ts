// evaluateScaling over real HTTP: DESIGN.md's worked answers, and invalid rules refused by name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';

const QUERY = `query($input: ScalingEvaluationInput!) {
  evaluateScaling(input: $input) { idealMin idealMax targetMin targetMax target conflict rules { rule metric min max } }
}`;

describe('evaluateScaling', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  const cases = [
    {
      name: "the seed's load: rate 33.01 on one instance with 0 < rate < 1 needs 34, clamped to max 5",
      input: { rules: ['0 < rate < 1'], metrics: { rate: 33.01 }, instances: 1, minInstances: 1, maxInstances: 5 },
      expect: { idealMin: 34, idealMax: null, targetMin: 5, targetMax: 5, target: 5, conflict: false },
      rules: [{ rule: '0 < rate < 1', metric: 'rate', min: 34, max: null }],
    },
    {
      name: 'an idle endpoint with 0 < rate < 1 shrinks back to its minimum',
      input: { rules: ['0 < rate < 1'], metrics: { rate: 0 }, instances: 3, minInstances: 1, maxInstances: 5 },
      expect: { idealMin: 0, idealMax: 0, targetMin: 1, targetMax: 1, target: 1, conflict: false },
      rules: [{ rule: '0 < rate < 1', metric: 'rate', min: 0, max: 0 }],
    },
    {
      name: '2 <= instances, 10 <= active <= 30 with T = 20: the instances rule wins the overlap at 2',
      input: { rules: ['2 <= instances', '10 <= active <= 30'], metrics: { active: 5 }, instances: 4, minInstances: 1, maxInstances: 10 },
      expect: { idealMin: 2, idealMax: 2, targetMin: 2, targetMax: 2, target: 2, conflict: false },
      rules: [
        { rule: '2 <= instances', metric: 'instances', min: 2, max: null },
        { rule: '10 <= active <= 30', metric: 'active', min: 1, max: 2 },
      ],
    },
    {
      name: '10 <= active <= 30, response < 300: response 1200 total is an exact multiple of 300, so 5 not 4',
      input: { rules: ['10 <= active <= 30, response < 300'], metrics: { active: 20, response: 400 }, instances: 3, minInstances: 1, maxInstances: 10 },
      expect: { idealMin: 5, idealMax: 6, targetMin: 5, targetMax: 6, target: 5, conflict: false },
      rules: [
        { rule: '10 <= active <= 30', metric: 'active', min: 2, max: 6 },
        { rule: 'response < 300', metric: 'response', min: 5, max: null },
      ],
    },
    {
      name: 'no rules hold the endpoint at its minimum',
      input: { rules: [], metrics: { rate: 50 }, instances: 3, minInstances: 2, maxInstances: 5 },
      expect: { idealMin: 0, idealMax: 0, targetMin: 2, targetMax: 2, target: 2, conflict: false },
      rules: [],
    },
    {
      name: 'a rule with no possible count is a conflict: the current count is kept',
      input: { rules: ['5 < rate < 6'], metrics: { rate: 10 }, instances: 3, minInstances: 1, maxInstances: 10 },
      expect: { idealMin: 6, idealMax: 5, targetMin: 3, targetMax: 3, target: 3, conflict: true },
      rules: [{ rule: '5 < rate < 6', metric: 'rate', min: 6, max: 5 }],
    },
  ];

  for (const c of cases) {
    it(`should answer: ${c.name}`, async () => {
      const { data, errors } = await t.gql(QUERY, { input: c.input });
      assert.equal(errors, undefined, JSON.stringify(errors));
      const { rules, ...numbers } = data.evaluateScaling;
      assert.deepEqual(numbers, c.expect);
      assert.deepEqual(rules, c.rules);
    });
  }

  for (const rule of ['rate <', '0 < < rate', 'rate < 0', 'rate == 4', '20 <= rate <= 50 <= 60']) {
    it(`should refuse the invalid rule "${rule}" with BAD_USER_INPUT naming it`, async () => {
      const input = { rules: [rule], metrics: {}, instances: 1, minInstances: 1, maxInstances: 2 };
      const { errors } = await t.gql(QUERY, { input });
      assert.equal(errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.ok(errors![0]!.message.includes(`"${rule}"`), errors![0]!.message);
    });
  }

  it('should refuse min above max and a non-numeric metric, naming the field', async () => {
    const minMax = await t.gql(QUERY, { input: { rules: [], metrics: {}, instances: 1, minInstances: 3, maxInstances: 2 } });
    assert.equal(minMax.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(minMax.errors![0]!.message, /minInstances/);
    const metric = await t.gql(QUERY, { input: { rules: ['rate < 1'], metrics: { rate: 'fast' }, instances: 1, minInstances: 1, maxInstances: 2 } });
    assert.equal(metric.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(metric.errors![0]!.message, /rate/);
  });
});
