// groupBy: groups in the order of the input, items without a key left out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupBy } from '../../src/util/group.js';

describe('groupBy', () => {
  it('should group by key in input order and leave out items without a key', () => {
    const items = [
      { endpoint: 'web', n: 1 },
      { endpoint: '', n: 2 },
      { endpoint: 'api', n: 3 },
      { endpoint: 'web', n: 4 },
    ];
    const groups = groupBy(items, (i) => i.endpoint || undefined);
    assert.deepEqual([...groups.keys()], ['web', 'api']);
    assert.deepEqual(groups.get('web')!.map((i) => i.n), [1, 4]);
    assert.deepEqual(groups.get('api')!.map((i) => i.n), [3]);
    assert.equal(groupBy([], () => 'x').size, 0);
  });
});
