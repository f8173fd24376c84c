// The README's walkthrough says which interval its timings assume, and the default it states is the server's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { reactor } from '../support/cli.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

describe("the README's walkthrough", () => {
  it('should say its timings assume --interval 1 and that the default is the one reactor server uses', async () => {
    const text = readFileSync(README, 'utf8');
    const walkthrough = text.slice(text.indexOf('## Walkthrough'), text.indexOf('## CLI'));
    assert.match(walkthrough, /The test runs the server with `reactor server --interval 1`, and\s+the times below .* assume that/s);
    const stated = /The default\s+interval is \*\*(\d+) s\*\*/.exec(walkthrough);
    assert.ok(stated, 'the walkthrough states the default interval');
    const help = await reactor(['server', '--help']);
    assert.equal(help.code, 0);
    const actual = /--interval <seconds>\s+seconds between evaluation rounds \(default:\s+(\d+)\)/.exec(help.stdout);
    assert.ok(actual, help.stdout);
    assert.equal(stated[1], actual[1]);
  });

  it('should say a drained instance is removed at once, not at the next round, and that scale-up does not wait for the interval', () => {
    const text = readFileSync(README, 'utf8');
    assert.match(text, /A drained instance is\s+removed as soon as its last connection has closed, or once\s+`decommissioned_timeout`/);
    assert.match(text, /without\s+waiting for the next round/);
    assert.match(text, /Scale-up does not wait\s+for the interval at any setting/);
  });
});
