// DocumentCache: parsed documents are kept by text within a bound on the total text length (a parsed text takes about 95 times its length), and errors keep their locations.
import assert from 'node:assert/strict';
import { specifiedRules } from 'graphql';
import { describe, it } from 'node:test';
import { DocumentCache, LONGEST_KEPT, TEXT_KEPT } from '../../src/server/fan-out.js';
import { buildSchema } from '../../src/server/schema.js';

const schema = buildSchema();

/** A valid subscription about `length` characters long, distinct by `n`. */
function operation(n: number, length: number): string {
  let text = `subscription Op${n} { metricSamples { id`;
  for (let i = 0; text.length < length - 4; i++) text += ` a${i}: id`;
  return `${text} } }`;
}

describe('DocumentCache', () => {
  it('should keep no more text than TEXT_KEPT in all, dropping the least recently used first', () => {
    const cache = new DocumentCache(schema, specifiedRules, 1_000_000);
    const texts = Array.from({ length: 100 }, (_, n) => operation(n, 8 * 1024));
    for (const text of texts) assert.ok('document' in cache.get(text));
    const { documents, length } = cache.size;
    assert.ok(length <= TEXT_KEPT, `${length} characters kept`);
    assert.equal(documents, Math.floor(TEXT_KEPT / texts[0]!.length), 'as many as fit');
    // The most recent is still kept (the very same document); the first was dropped (parsed anew).
    const last = cache.get(texts[99]!);
    assert.equal(cache.get(texts[99]!), last);
    const first = cache.get(texts[0]!);
    assert.ok('document' in first);
    assert.equal(cache.size.documents, documents, 'kept again, in place of the oldest');
  });

  it('should not keep a text longer than LONGEST_KEPT, nor one that cannot run', () => {
    const cache = new DocumentCache(schema, specifiedRules, 1_000_000);
    assert.ok('document' in cache.get(operation(1, LONGEST_KEPT + 100)));
    const invalid = cache.get('subscription {\n  metricSamples { nope }\n}');
    assert.deepEqual(cache.size, { documents: 0, length: 0 });
    assert.ok('errors' in invalid);
    assert.deepEqual(invalid.errors[0]!.locations, [{ line: 2, column: 19 }], 'an error still says where');
  });
});
