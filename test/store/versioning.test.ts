// The optimistic update flow on its own: which outcome each race between read and compare-and-set gives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors/codes.js';
import type { EndpointRecord } from '../../src/store/types.js';
import { updateEndpointVersioned, type EndpointWrite, type VersionedEndpointOps } from '../../src/store/versioning.js';
import { rejectsWithCode } from '../support/errors.js';

const stored: EndpointRecord = {
  name: 'web',
  state: 'PAUSED',
  configText: 'v1',
  version: 3,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
};

/** Ops whose successive `get`s return `reads` in turn and whose write matches `matched` rows. */
function ops(reads: (EndpointRecord | null)[], matched: number, writes: EndpointWrite[] = []): VersionedEndpointOps {
  let i = 0;
  return {
    get: async () => reads[Math.min(i++, reads.length - 1)],
    writeIfVersion: async (_name, _version, write) => {
      writes.push(write);
      return matched;
    },
  };
}

describe('updateEndpointVersioned', () => {
  const now = new Date('2026-01-02T00:00:00Z');

  it('should write version + 1 and return the merged record', async () => {
    const writes: EndpointWrite[] = [];
    const result = await updateEndpointVersioned(ops([stored], 1, writes), 'web', 3, { state: 'RUNNING' }, now);
    assert.deepEqual(writes, [{ state: 'RUNNING', version: 4, updatedAt: now }]);
    assert.deepEqual(result, { ...stored, state: 'RUNNING', version: 4, updatedAt: now });
  });

  it('should not write fields outside state and configText', async () => {
    const writes: EndpointWrite[] = [];
    const sneaky = { configText: 'v2', version: 99, name: 'other' } as never;
    await updateEndpointVersioned(ops([stored], 1, writes), 'web', 3, sneaky, now);
    assert.deepEqual(writes, [{ configText: 'v2', version: 4, updatedAt: now }]);
  });

  it('should fail with CONFLICT without writing when the read version differs', async () => {
    const writes: EndpointWrite[] = [];
    await rejectsWithCode(updateEndpointVersioned(ops([stored], 1, writes), 'web', 2, {}, now), ErrorCodes.CONFLICT);
    assert.deepEqual(writes, []);
  });

  it('should fail with CONFLICT when another writer wins between the read and the write', async () => {
    await rejectsWithCode(updateEndpointVersioned(ops([stored, { ...stored, version: 4 }], 0), 'web', 3, {}, now), ErrorCodes.CONFLICT);
  });

  it('should fail with NOT_FOUND when the endpoint is deleted between the read and the write', async () => {
    await rejectsWithCode(updateEndpointVersioned(ops([stored, null], 0), 'web', 3, {}, now), ErrorCodes.NOT_FOUND);
  });

  it('should fail with NOT_FOUND when there is no such endpoint', async () => {
    await rejectsWithCode(updateEndpointVersioned(ops([null], 0), 'web', 1, {}, now), ErrorCodes.NOT_FOUND);
  });
});
