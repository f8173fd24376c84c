// Tests for manager (host) configuration: defaults, parsing, validation and get/set of each key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MANAGER_SLOTS,
  MANAGER_OPTIONS,
  defaultManagerConfig,
  getManagerOption,
  parseManagerOption,
  setManagerOption,
  validateManagerConfig,
  type ManagerConfig,
} from '../../src/config/index.js';
import { expectBadInput } from '../support/errors.js';

describe('manager configuration', () => {
  it('should default slots to DEFAULT_MANAGER_SLOTS (1000)', () => {
    assert.equal(DEFAULT_MANAGER_SLOTS, 1000);
    assert.deepEqual(defaultManagerConfig(), { slots: 1000 });
    assert.deepEqual(MANAGER_OPTIONS.map((o) => [o.key, o.default]), [['slots', '1000']]);
  });

  const accepted: Array<[string, Partial<ManagerConfig>]> = [
    ['0', { slots: 0 }],
    ['10', { slots: 10 }],
    [' 42 ', { slots: 42 }],
  ];
  for (const [value, expected] of accepted) {
    it(`should parse slots=${JSON.stringify(value)}`, () => assert.deepEqual(parseManagerOption('slots', value), expected));
  }

  const refused: Array<{ name: string; key: string; value: string; mentions: string[] }> = [
    { name: 'a negative slot count', key: 'slots', value: '-1', mentions: ['slots', '"-1"', 'negative', '0 or more'] },
    { name: 'a fractional slot count', key: 'slots', value: '2.5', mentions: ['slots', '"2.5"', 'whole number'] },
    { name: 'a non-number', key: 'slots', value: 'many', mentions: ['slots', '"many"', 'not a number'] },
    { name: 'an empty value', key: 'slots', value: '', mentions: ['slots', 'empty'] },
    { name: 'an unknown key', key: 'slot', value: '1', mentions: ['"slot"', 'slots'] },
  ];
  for (const c of refused) {
    it(`should refuse ${c.name}, naming the key`, () => {
      expectBadInput(() => parseManagerOption(c.key, c.value), c.mentions);
    });
  }

  it('should set a key without mutating the input, and get it back', () => {
    const before = defaultManagerConfig();
    const after = setManagerOption(before, 'slots', '12');
    assert.deepEqual(before, { slots: 1000 });
    assert.deepEqual(after, { slots: 12 });
    assert.equal(getManagerOption(after, 'slots'), '12');
  });

  it('should refuse a bad set and leave the configuration as it was', () => {
    const before = defaultManagerConfig();
    expectBadInput(() => setManagerOption(before, 'slots', '-3'), ['slots']);
    assert.deepEqual(before, { slots: 1000 });
  });

  const typed: Array<{ name: string; config: unknown; mentions: string[] }> = [
    { name: 'a negative number', config: { slots: -1 }, mentions: ['slots', 'negative'] },
    { name: 'a fraction', config: { slots: 0.5 }, mentions: ['slots', 'whole number'] },
    { name: 'NaN', config: { slots: Number.NaN }, mentions: ['slots'] },
    { name: 'a string', config: { slots: '5' }, mentions: ['slots', 'not a number'] },
    { name: 'a missing key', config: {}, mentions: ['slots'] },
  ];
  for (const c of typed) {
    it(`should refuse a typed configuration with ${c.name}`, () => {
      expectBadInput(() => validateManagerConfig(c.config as ManagerConfig), c.mentions);
    });
  }

  it('should accept a valid typed configuration', () => assert.deepEqual(validateManagerConfig({ slots: 3 }), { slots: 3 }));
});
