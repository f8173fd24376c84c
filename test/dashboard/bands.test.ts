// Table tests of the dashboard's reading of rule bands from the rules' public text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bandsOf, ruleMetrics } from '../../src/dashboard/bands.js';

describe('bandsOf', () => {
  const cases: [string, string, { metric: string; lower: number | null; upper: number | null }[]][] = [
    ['both bounds', '20<=rate<=50', [{ metric: 'rate', lower: 20, upper: 50 }]],
    ['strict bounds and spaces', ' 0 < rate < 1 ', [{ metric: 'rate', lower: 0, upper: 1 }]],
    ['upper only', 'response<800', [{ metric: 'response', lower: null, upper: 800 }]],
    ['lower only', '2 <= instances', [{ metric: 'instances', lower: 2, upper: null }]],
    ['decimals', '.5 < queue <= 2.', [{ metric: 'queue', lower: 0.5, upper: 2 }]],
    [
      'several, in order',
      '20<=rate<=50,100<=response<800',
      [
        { metric: 'rate', lower: 20, upper: 50 },
        { metric: 'response', lower: 100, upper: 800 },
      ],
    ],
    ['no bound is no band', 'rate', []],
    ['not a rule: left out', 'rate <<, 1 < active', [{ metric: 'active', lower: 1, upper: null }]],
    ['empty', '', []],
  ];
  for (const [name, rules, expected] of cases) {
    it(`should read ${name}: ${JSON.stringify(rules)}`, () => {
      assert.deepEqual(
        bandsOf(rules).map(({ metric, lower, upper }) => ({ metric, lower, upper })),
        expected,
      );
    });
  }
});

describe('ruleMetrics', () => {
  it('should list each metric once, in the order written, leaving out instances', () => {
    assert.deepEqual(ruleMetrics('1 <= instances, 20 <= rate <= 50, rate < 60, response < 800'), ['rate', 'response']);
  });
});
