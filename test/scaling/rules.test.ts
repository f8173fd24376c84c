// Tests for the rule grammar: what parses, what it means, and what is refused with which message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReactorError } from '../../src/errors/codes.js';
import { expectBadInput } from '../support/errors.js';
import { formatRule, parseRule, parseRules, parseRulesCached, type Rule } from '../../src/scaling/index.js';

const bounds = (r: Rule) => [r.metric, r.lower, r.lowerInclusive, r.upper, r.upperInclusive];

describe('parseRules: valid rules', () => {
  const cases: { name: string; text: string; want: unknown[][] }[] = [
    { name: 'the seed rule', text: '0 < rate < 1', want: [['rate', 0, false, 1, false]] },
    { name: 'the DESIGN config example, no spaces', text: '20<=rate<=50,100<=response<800', want: [['rate', 20, true, 50, true], ['response', 100, true, 800, false]] },
    { name: 'lower bound only', text: '2 <= instances', want: [['instances', 2, true, null, false]] },
    { name: 'upper bound only', text: 'response < 300', want: [['response', null, false, 300, false]] },
    { name: 'decimals', text: '0.01 < rate <= 0.05', want: [['rate', 0.01, false, 0.05, true]] },
    { name: 'leading-dot and trailing-dot decimals', text: '.5 <= load < 5.', want: [['load', 0.5, true, 5, false]] },
    { name: 'custom metric identifier with digits and underscore', text: '_queue_2 < 10', want: [['_queue_2', null, false, 10, false]] },
    { name: 'exact value with <= on both sides', text: '5 <= rate <= 5', want: [['rate', 5, true, 5, true]] },
    { name: 'three rules with odd spacing', text: ' 2 <= instances <= 10 ,response<300,  10 <= active <= 30 ', want: [['instances', 2, true, 10, true], ['response', null, false, 300, false], ['active', 10, true, 30, true]] },
  ];
  for (const c of cases) {
    it(`should parse ${c.name}: ${JSON.stringify(c.text)}`, () => {
      assert.deepEqual(parseRules(c.text).map(bounds), c.want);
    });
  }

  it('should keep each rule\'s own text, trimmed', () => {
    assert.deepEqual(parseRules('20<=rate<=50, 100<=response<800 ').map((r) => r.text), ['20<=rate<=50', '100<=response<800']);
  });

  it('should read empty or whitespace-only text as no rules', () => {
    assert.deepEqual(parseRules(''), []);
    assert.deepEqual(parseRules('   \t '), []);
  });

  it('should return the same frozen rules from the cache for the same text', () => {
    const a = parseRulesCached('0 < rate < 1, 2 <= instances');
    const b = parseRulesCached('0 < rate < 1, 2 <= instances');
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a[0]));
    assert.throws(() => parseRulesCached('rate == 4'), ReactorError);
  });
});

describe('parseRules: invalid rules are BAD_USER_INPUT naming the rule and the problem', () => {
  const cases: { name: string; text: string; rule: string; says: RegExp }[] = [
    { name: 'operator with no bound', text: 'rate <', rule: 'rate <', says: /expected \[L op\] metric \[op U\] with op < or <=/ },
    { name: 'two operators in a row', text: '0 < < rate', rule: '0 < < rate', says: /expected \[L op\] metric/ },
    { name: 'upper bound 0', text: 'rate < 0', rule: 'rate < 0', says: /upper bound 0 must be greater than 0/ },
    { name: 'upper bound 0 with <=', text: 'rate <= 0', rule: 'rate <= 0', says: /upper bound 0 must be greater than 0/ },
    { name: 'equality operator', text: 'rate == 4', rule: 'rate == 4', says: /expected \[L op\] metric \[op U\] with op < or <=/ },
    { name: 'greater-than operator', text: 'rate > 4', rule: 'rate > 4', says: /expected \[L op\] metric/ },
    { name: 'chained bounds', text: '20 <= rate <= 50 <= 60', rule: '20 <= rate <= 50 <= 60', says: /expected \[L op\] metric/ },
    { name: 'no bound at all', text: 'rate', rule: 'rate', says: /no bound/ },
    { name: 'lower above upper', text: '5 < rate < 2', rule: '5 < rate < 2', says: /lower bound 5 is greater than upper bound 2/ },
    { name: 'equal bounds with a strict side', text: '5 < rate <= 5', rule: '5 < rate <= 5', says: /leave no value/ },
    { name: 'negative lower bound', text: '-1 < rate', rule: '-1 < rate', says: /-1 is negative/ },
    { name: 'negative upper bound', text: 'rate < -5', rule: 'rate < -5', says: /-5 is negative/ },
    { name: 'numbers on both sides of nothing', text: '1 < 2', rule: '1 < 2', says: /expected \[L op\] metric/ },
    { name: 'metric on both sides', text: 'rate < rate', rule: 'rate < rate', says: /expected \[L op\] metric/ },
    { name: 'exponent notation', text: 'rate < 1e3', rule: 'rate < 1e3', says: /bad number "1e3"/ },
    { name: 'metric name starting with a digit', text: '2rate < 5', rule: '2rate < 5', says: /bad number "2rate"/ },
    { name: 'metric name with a dash', text: 'ra-te < 5', rule: 'ra-te < 5', says: /expected \[L op\] metric/ },
    { name: 'trailing garbage', text: 'rate < 5 please', rule: 'rate < 5 please', says: /expected \[L op\] metric/ },
    { name: 'the bad one of several', text: '0 < rate < 1, rate == 4, 2 <= instances', rule: 'rate == 4', says: /expected \[L op\] metric/ },
  ];
  for (const c of cases) {
    it(`should refuse ${c.name}: ${JSON.stringify(c.text)}`, () => {
      const error = expectBadInput(() => parseRules(c.text));
      assert.ok(error.message.startsWith(`rule "${c.rule}": `), error.message);
      assert.match(error.message, c.says);
      assert.equal(error.details.rule, c.rule);
    });
  }

  it('should refuse an empty element in a list (stray comma), saying which', () => {
    const error = expectBadInput(() => parseRules('0 < rate < 1,,2 <= instances'));
    assert.match(error.message, /rule 2 of 3 is empty/);
    assert.match(error.message, /"0 < rate < 1,,2 <= instances"/);
    assert.throws(() => parseRules('0 < rate < 1,'), /rule 2 of 2 is empty/);
  });
});

describe('formatRule', () => {
  const cases: [string, string][] = [
    ['20<=rate<=50', '20 <= rate <= 50'],
    ['0<rate<1', '0 < rate < 1'],
    ['response<300', 'response < 300'],
    ['2<=instances', '2 <= instances'],
    ['0.01 <  rate', '0.01 < rate'],
  ];
  for (const [text, want] of cases) {
    it(`should print ${JSON.stringify(text)} as ${JSON.stringify(want)}`, () => {
      assert.equal(formatRule(parseRule(text)), want);
    });
  }

  it('should round-trip any valid rule through its canonical text (property)', () => {
    const decimal = fc.integer({ min: 0, max: 100_000 }).map((n) => n / 100);
    const arbRule = fc
      .record({
        metric: fc.constantFrom('rate', 'active', 'instances', 'queue_len', '_x1'),
        lower: fc.option(decimal),
        lowerInclusive: fc.boolean(),
        upper: fc.option(decimal.filter((n) => n > 0)),
        upperInclusive: fc.boolean(),
      })
      .filter((r) => r.lower !== null || r.upper !== null)
      .filter((r) => r.lower === null || r.upper === null || r.lower < r.upper || (r.lower === r.upper && r.lowerInclusive && r.upperInclusive))
      .map((r) => ({ ...r, lowerInclusive: r.lower !== null && r.lowerInclusive, upperInclusive: r.upper !== null && r.upperInclusive }));
    fc.assert(
      fc.property(arbRule, (r) => {
        const text = formatRule(r);
        const parsed = parseRule(text);
        assert.deepEqual(bounds(parsed), bounds({ ...r, text }));
        assert.equal(parsed.text, text);
      }),
    );
  });
});
