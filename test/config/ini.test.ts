// Tests for the strict INI reader: what it accepts, what it refuses, and the line numbers it reports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIniSafeValue, parseIni, renderIni } from '../../src/config/ini.js';
import { expectBadInput } from '../support/errors.js';

/** The document as plain [section, [[key, value], …]] pairs, easy to compare. */
function shape(text: string): Array<[string, Array<[string, string]>]> {
  return parseIni(text).sections.map((s) => [s.name, s.entries.map((e): [string, string] => [e.key, e.value])]);
}

describe('parseIni', () => {
  const accepted: Array<{ name: string; text: string; expected: ReturnType<typeof shape> }> = [
    { name: 'empty text', text: '', expected: [] },
    { name: 'only comments and blanks', text: '# a\n; b\n\n   \n  # indented\n', expected: [] },
    { name: 'one section with keys', text: '[a]\nx=1\ny=2\n', expected: [['a', [['x', '1'], ['y', '2']]]] },
    { name: 'whitespace around key and value is trimmed', text: '[a]\n  x  =   1 2  \n', expected: [['a', [['x', '1 2']]]] },
    { name: 'value may contain = < and commas', text: '[s]\nrules=20<=rate<=50,100<=response<800\nenvironment=A=b,C=d\n', expected: [['s', [['rules', '20<=rate<=50,100<=response<800'], ['environment', 'A=b,C=d']]]] },
    { name: 'empty value', text: '[a]\nuser=\n', expected: [['a', [['user', '']]]] },
    { name: 'inline # comment after a value', text: '[a]\nport=5000              # backend port\n', expected: [['a', [['port', '5000']]]] },
    { name: 'inline comment right after =', text: '[a]\nuser=   # nobody\n', expected: [['a', [['user', '']]]] },
    { name: '# without whitespace before it is part of the value', text: '[a]\nredirect=http://x/#top\n', expected: [['a', [['redirect', 'http://x/#top']]]] },
    { name: '; inside a value is kept', text: '[a]\ncommand=a; b\n', expected: [['a', [['command', 'a; b']]]] },
    { name: 'inline comment after a section header', text: '[a]   # first\nx=1\n', expected: [['a', [['x', '1']]]] },
    { name: 'CRLF line endings and a BOM', text: '\uFEFF[a]\r\nx=1\r\n', expected: [['a', [['x', '1']]]] },
    { name: 'same key in two sections', text: '[a]\nx=1\n[b]\nx=2\n', expected: [['a', [['x', '1']]], ['b', [['x', '2']]]] },
    { name: 'section names with a colon', text: '[cloud:docker]\nimage=x\n', expected: [['cloud:docker', [['image', 'x']]]] },
    { name: 'empty section', text: '[a]\n[b]\n', expected: [['a', []], ['b', []]] },
  ];
  for (const c of accepted) {
    it(`should accept ${c.name}`, () => assert.deepEqual(shape(c.text), c.expected));
  }

  it('should record line numbers of sections and entries', () => {
    const doc = parseIni('# top\n[a]\n\nx=1\n');
    assert.equal(doc.sections[0].line, 2);
    assert.equal(doc.sections[0].entries[0].line, 4);
  });

  const refused: Array<{ name: string; text: string; line: number; mentions: string[] }> = [
    { name: 'a line that is neither', text: '[a]\nx=1\njust words\n', line: 3, mentions: ['just words'] },
    { name: 'a key before any section', text: 'x=1\n[a]\n', line: 1, mentions: ['"x"', 'before any [section]'] },
    { name: 'a repeated section', text: '[a]\nx=1\n[b]\n[a]\n', line: 4, mentions: ['[a]', 'repeated', 'line 1'] },
    { name: 'a repeated key', text: '[a]\nx=1\ny=2\nx=3\n', line: 4, mentions: ['[a] x', 'repeated', 'line 2'] },
    { name: 'an unclosed header', text: '[a\n', line: 1, mentions: ['[a'] },
    { name: 'an empty header', text: '[]\n', line: 1, mentions: ['[]'] },
    { name: 'a missing key', text: '[a]\n=1\n', line: 2, mentions: ['=1'] },
    { name: 'a key with spaces', text: '[a]\nmax instances=1\n', line: 2, mentions: ['max instances'] },
  ];
  for (const c of refused) {
    it(`should refuse ${c.name}, naming line ${c.line}`, () => {
      const error = expectBadInput(() => parseIni(c.text), c.mentions);
      assert.match(error.message, new RegExp(`^line ${c.line}: `));
      assert.equal(error.details.line, c.line);
    });
  }
});

describe('renderIni and isIniSafeValue', () => {
  it('should render what parseIni reads back', () => {
    const sections = [
      { name: 'a', entries: [{ key: 'x', value: '1' }, { key: 'y', value: '' }] },
      { name: 'b:c', entries: [{ key: 'z', value: '0 < rate < 1' }] },
    ];
    const text = renderIni(sections);
    assert.equal(text, '[a]\nx=1\ny=\n\n[b:c]\nz=0 < rate < 1\n');
    assert.deepEqual(shape(text), [['a', [['x', '1'], ['y', '']]], ['b:c', [['z', '0 < rate < 1']]]]);
  });

  const values: Array<[string, boolean]> = [
    ['plain', true],
    ['', true],
    ['a#b', true],
    ['a # b', false],
    [' lead', false],
    ['line\nbreak', false],
  ];
  for (const [value, safe] of values) {
    it(`should say ${JSON.stringify(value)} is ${safe ? '' : 'not '}INI-safe`, () => assert.equal(isIniSafeValue(value), safe));
  }
});
