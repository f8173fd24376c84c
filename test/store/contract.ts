// The store contract as tests: the same cases run against every backend (SQLite file, MongoDB/FerretDB).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors/codes.js';
import { newId } from '../../src/store/ids.js';
import type {
  DecisionRecord,
  EventRecord,
  InstanceRecord,
  ListOptions,
  ManagerRecord,
  MetricSampleRecord,
  TrafficShareRecord,
  Store,
} from '../../src/store/types.js';
import { assertCode, rejectsWithCode } from '../support/errors.js';
import { waitFor } from '../support/wait.js';

/**
 * @param openFresh opens a store on new, empty data (a new file, a new database)
 * @param reopen opens another store on the same data as `store` (same file, same database);
 *   `store` may be closed already or still open (a second connection)
 */
export function runStoreContract(
  name: string,
  openFresh: () => Promise<Store>,
  reopen: (store: Store) => Promise<Store>,
): void {
  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const store = await openFresh();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  }

  describe(`store contract: ${name}`, () => {
    it('should report its kind', () =>
      withStore(async (store) => {
        assert.equal(store.kind, name);
      }));

    describe('endpoints', () => {
      it('should create an endpoint at version 1 and read it back', () =>
        withStore(async (store) => {
          const before = Date.now();
          const created = await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: '[endpoint]\nport=5000\n' });
          assert.equal(created.name, 'web');
          assert.equal(created.state, 'PAUSED');
          assert.equal(created.version, 1);
          assert.ok(created.createdAt instanceof Date);
          assert.ok(created.createdAt.getTime() >= before - 1 && created.createdAt.getTime() <= Date.now() + 1);
          assert.deepEqual(created.updatedAt, created.createdAt);
          assert.deepEqual(await store.endpoints.get('web'), created);
        }));

      it('should return null for an endpoint that does not exist', () =>
        withStore(async (store) => {
          assert.equal(await store.endpoints.get('nope'), null);
        }));

      it('should list endpoints by name', () =>
        withStore(async (store) => {
          for (const n of ['zeta', 'alpha', 'mid']) {
            await store.endpoints.create({ name: n, state: 'RUNNING', configText: `# ${n}` });
          }
          const list = await store.endpoints.list();
          assert.deepEqual(list.map((e) => e.name), ['alpha', 'mid', 'zeta']);
          assert.deepEqual(list.map((e) => e.configText), ['# alpha', '# mid', '# zeta']);
        }));

      it('should refuse to create a name that exists with ALREADY_EXISTS', () =>
        withStore(async (store) => {
          await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'a' });
          await rejectsWithCode(store.endpoints.create({ name: 'web', state: 'RUNNING', configText: 'b' }), ErrorCodes.ALREADY_EXISTS);
          const kept = await store.endpoints.get('web');
          assert.equal(kept?.configText, 'a');
          assert.equal(kept?.state, 'PAUSED');
        }));

      it('should let exactly one of several racing creates win, the others ALREADY_EXISTS', () =>
        withStore(async (store) => {
          const results = await Promise.allSettled(
            [1, 2, 3, 4, 5].map((i) => store.endpoints.create({ name: 'race', state: 'PAUSED', configText: `#${i}` })),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r) => r.status === 'rejected');
          assert.equal(won.length, 1);
          assert.equal(lost.length, 4);
          for (const r of lost) assertCode(r.reason, ErrorCodes.ALREADY_EXISTS);
          const winner = (won[0] as PromiseFulfilledResult<{ configText: string }>).value;
          assert.equal((await store.endpoints.get('race'))?.configText, winner.configText);
        }));

      it('should update state and config, bumping the version and updatedAt', () =>
        withStore(async (store) => {
          const created = await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
          // The store stamps updatedAt with the wall clock: wait until it has moved past the creation's millisecond.
          await waitFor(() => Date.now() > created.updatedAt.getTime(), { intervalMs: 1, what: 'the clock to pass createdAt' });
          const started = await store.endpoints.update('web', 1, { state: 'RUNNING' });
          assert.equal(started.version, 2);
          assert.equal(started.state, 'RUNNING');
          assert.equal(started.configText, 'v1');
          assert.deepEqual(started.createdAt, created.createdAt);
          assert.ok(started.updatedAt.getTime() > created.updatedAt.getTime());
          assert.deepEqual(await store.endpoints.get('web'), started);

          const both = await store.endpoints.update('web', 2, { state: 'STOPPED', configText: 'v3' });
          assert.equal(both.version, 3);
          assert.deepEqual(await store.endpoints.get('web'), both);
          assert.equal(both.configText, 'v3');
          assert.equal(both.state, 'STOPPED');
        }));

      it('should fail with CONFLICT when the expected version is stale', () =>
        withStore(async (store) => {
          await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
          await store.endpoints.update('web', 1, { configText: 'v2' });
          await rejectsWithCode(store.endpoints.update('web', 1, { configText: 'lost' }), ErrorCodes.CONFLICT);
          const kept = await store.endpoints.get('web');
          assert.equal(kept?.version, 2);
          assert.equal(kept?.configText, 'v2');
        }));

      it('should let exactly one of two updates from the same version win, the other CONFLICT', () =>
        withStore(async (store) => {
          await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
          const [a, b] = await Promise.allSettled([
            store.endpoints.update('web', 1, { configText: 'from A' }),
            store.endpoints.update('web', 1, { configText: 'from B' }),
          ]);
          const outcomes = [a, b];
          const won = outcomes.filter((r) => r.status === 'fulfilled');
          const lost = outcomes.filter((r) => r.status === 'rejected');
          assert.equal(won.length, 1);
          assert.equal(lost.length, 1);
          assertCode((lost[0] as PromiseRejectedResult).reason, ErrorCodes.CONFLICT);
          const stored = await store.endpoints.get('web');
          assert.equal(stored?.version, 2);
          assert.equal(stored?.configText, (won[0] as PromiseFulfilledResult<{ configText: string }>).value.configText);
        }));

      it('should let one of many racing updates win across two connections to the same data', async () => {
        const first = await openFresh();
        const second = await reopen(first);
        try {
          await first.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
          const results = await Promise.allSettled(
            [first, second, first, second, first, second].map((s, i) =>
              s.endpoints.update('web', 1, { configText: `writer ${i}` }),
            ),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          assert.equal(won.length, 1);
          for (const r of results) if (r.status === 'rejected') assertCode(r.reason, ErrorCodes.CONFLICT);
          const seenBySecond = await second.endpoints.get('web');
          assert.equal(seenBySecond?.version, 2);
          assert.equal(seenBySecond?.configText, (won[0] as PromiseFulfilledResult<{ configText: string }>).value.configText);
        } finally {
          await second.close();
          await first.close();
        }
      });

      it('should refuse to create a name that has been updated many times', () =>
        withStore(async (store) => {
          await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
          for (let version = 1; version <= 5; version++) {
            await store.endpoints.update('web', version, { configText: `v${version + 1}` });
          }
          await rejectsWithCode(store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'again' }), ErrorCodes.ALREADY_EXISTS);
          const kept = await store.endpoints.get('web');
          assert.equal(kept?.version, 6);
          assert.equal(kept?.configText, 'v6');
          assert.deepEqual(await store.endpoints.list(), [kept]);
        }));

      it('should leave an endpoint deleted when an update races its deletion', () =>
        withStore(async (store) => {
          for (let round = 0; round < 20; round++) {
            await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
            const [updated, deleted] = await Promise.allSettled([
              store.endpoints.update('web', 1, { state: 'RUNNING' }),
              store.endpoints.delete('web'),
            ]);
            assert.deepEqual(deleted, { status: 'fulfilled', value: true });
            if (updated.status === 'rejected') assertCode(updated.reason, ErrorCodes.NOT_FOUND);
            assert.equal(await store.endpoints.get('web'), null, `round ${round}`);
          }
        }));

      it('should fail with NOT_FOUND when updating an endpoint that does not exist', () =>
        withStore(async (store) => {
          await rejectsWithCode(store.endpoints.update('ghost', 1, { state: 'RUNNING' }), ErrorCodes.NOT_FOUND);
        }));

      it('should refuse a bad state or version with BAD_USER_INPUT', () =>
        withStore(async (store) => {
          await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: '' });
          await rejectsWithCode(
            store.endpoints.update('web', 1, { state: 'FLYING' as never }),
            ErrorCodes.BAD_USER_INPUT,
          );
          await rejectsWithCode(store.endpoints.update('web', 0, { state: 'RUNNING' }), ErrorCodes.BAD_USER_INPUT);
          await rejectsWithCode(
            store.endpoints.create({ name: 'other', state: 'SLEEPING' as never, configText: '' }),
            ErrorCodes.BAD_USER_INPUT,
          );
          assert.equal((await store.endpoints.get('web'))?.version, 1);
          assert.equal(await store.endpoints.get('other'), null);
        }));

      it('should delete an endpoint once, then report it gone', () =>
        withStore(async (store) => {
          await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: '' });
          await store.endpoints.create({ name: 'keep', state: 'PAUSED', configText: '' });
          assert.equal(await store.endpoints.delete('web'), true);
          assert.equal(await store.endpoints.delete('web'), false);
          assert.equal(await store.endpoints.get('web'), null);
          assert.deepEqual((await store.endpoints.list()).map((e) => e.name), ['keep']);
          await rejectsWithCode(store.endpoints.update('web', 1, { state: 'RUNNING' }), ErrorCodes.NOT_FOUND);
          const again = await store.endpoints.create({ name: 'web', state: 'RUNNING', configText: 'new' });
          assert.equal(again.version, 1);
        }));
    });

    describe('managers', () => {
      it('should insert a manager and read it back exactly', () =>
        withStore(async (store) => {
          const manager = aManager('m-1');
          assert.deepEqual(await store.managers.upsert(manager), manager);
          assert.deepEqual(await store.managers.get('m-1'), manager);
          assert.equal(await store.managers.get('m-2'), null);
        }));

      it('should replace a manager with the same id', () =>
        withStore(async (store) => {
          await store.managers.upsert(aManager('m-1'));
          const changed: ManagerRecord = {
            ...aManager('m-1'),
            name: 'renamed',
            usedSlots: 7,
            clouds: [],
            problems: ['docker: connect ENOENT /var/run/docker.sock', 'nginx, missing'],
            lastSeen: new Date('2026-02-03T04:05:06.789Z'),
          };
          await store.managers.upsert(changed);
          assert.deepEqual(await store.managers.get('m-1'), changed);
          assert.equal((await store.managers.list()).length, 1);
        }));

      it('should update only the fields given, so a writer of other fields loses nothing', () =>
        withStore(async (store) => {
          const manager = aManager('m-1');
          await store.managers.upsert(manager);
          // An operator sets slots while a heartbeat that read the record before reports used slots.
          const read = await store.managers.get('m-1');
          assert.deepEqual(await store.managers.update('m-1', { slots: 99 }), { ...manager, slots: 99 });
          const lastSeen = new Date('2026-02-03T04:05:06.789Z');
          const after = await store.managers.update('m-1', { usedSlots: read!.usedSlots + 3, lastSeen, problems: ['docker: engine not reachable'] });
          const expected = { ...manager, slots: 99, usedSlots: manager.usedSlots + 3, lastSeen, problems: ['docker: engine not reachable'] };
          assert.deepEqual(after, expected);
          assert.deepEqual(await store.managers.get('m-1'), expected);
          assert.deepEqual(await store.managers.update('m-1', {}), expected);
          assert.equal(await store.managers.update('ghost', { slots: 1 }), null);
          assert.equal(await store.managers.get('ghost'), null);
        }));

      it('should list managers by id and delete them', () =>
        withStore(async (store) => {
          for (const id of ['c', 'a', 'b']) await store.managers.upsert(aManager(id));
          assert.deepEqual((await store.managers.list()).map((m) => m.id), ['a', 'b', 'c']);
          assert.equal(await store.managers.delete('b'), true);
          assert.equal(await store.managers.delete('b'), false);
          assert.deepEqual((await store.managers.list()).map((m) => m.id), ['a', 'c']);
        }));

      it('should survive racing upserts of a new id', () =>
        withStore(async (store) => {
          await Promise.all([1, 2, 3, 4].map((i) => store.managers.upsert({ ...aManager('new'), slots: i })));
          const list = await store.managers.list();
          assert.equal(list.length, 1);
          assert.ok([1, 2, 3, 4].includes(list[0].slots));
        }));
    });

    describe('instances', () => {
      it('should keep nulls and dates of an instance as they were', () =>
        withStore(async (store) => {
          const pending = anInstance('i-1', 'web', null, new Date('2026-01-01T00:00:00.001Z'));
          assert.deepEqual(await store.instances.upsert(pending), pending);
          assert.deepEqual(await store.instances.get('i-1'), pending);
          const running: InstanceRecord = {
            ...pending,
            managerId: 'm-1',
            containerId: 'abc123',
            address: '10.0.0.5:32768',
            status: 'DECOMMISSIONED',
            reason: 'scale down',
            decommissionedAt: new Date('2026-01-01T00:10:00.250Z'),
            updatedAt: new Date('2026-01-01T00:10:00.250Z'),
          };
          await store.instances.upsert(running);
          assert.deepEqual(await store.instances.get('i-1'), running);
          assert.equal(await store.instances.get('i-404'), null);
        }));

      it('should list instances by endpoint and/or manager, oldest first', () =>
        withStore(async (store) => {
          const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
          await store.instances.upsert(anInstance('i-3', 'web', 'm-1', t(3)));
          await store.instances.upsert(anInstance('i-1', 'web', 'm-2', t(1)));
          await store.instances.upsert(anInstance('i-2', 'api', 'm-1', t(2)));
          await store.instances.upsert(anInstance('i-4', 'web', null, t(4)));
          const ids = (list: InstanceRecord[]) => list.map((i) => i.id);
          assert.deepEqual(ids(await store.instances.list()), ['i-1', 'i-2', 'i-3', 'i-4']);
          assert.deepEqual(ids(await store.instances.list({})), ['i-1', 'i-2', 'i-3', 'i-4']);
          assert.deepEqual(ids(await store.instances.list({ endpoint: 'web' })), ['i-1', 'i-3', 'i-4']);
          assert.deepEqual(ids(await store.instances.list({ managerId: 'm-1' })), ['i-2', 'i-3']);
          assert.deepEqual(ids(await store.instances.list({ endpoint: 'web', managerId: 'm-1' })), ['i-3']);
          assert.deepEqual(ids(await store.instances.list({ endpoint: 'none' })), []);
        }));

      it('should change only the given fields, never bring back a deleted record, and honour a status guard', () =>
        withStore(async (store) => {
          const t = new Date('2026-01-01T00:00:00Z');
          await store.instances.upsert({ ...anInstance('i-1', 'web', 'm-1', t), status: 'STARTING' });
          const later = new Date('2026-01-01T00:00:05.5Z');
          const started = await store.instances.update('i-1', { containerId: 'c-1', address: '127.0.0.1:3000', updatedAt: later });
          assert.equal(started?.containerId, 'c-1');
          assert.equal(started?.status, 'STARTING', 'fields not named are kept');
          assert.deepEqual(started?.updatedAt, later);
          assert.equal(await store.instances.update('i-1', { status: 'RUNNING' }, { status: ['PENDING'] }), null, 'the guard refuses another status');
          assert.equal((await store.instances.get('i-1'))?.status, 'STARTING');
          const running = await store.instances.update('i-1', { status: 'RUNNING', reason: null }, { status: ['STARTING'] });
          assert.equal(running?.status, 'RUNNING');
          assert.equal(running?.address, '127.0.0.1:3000');
          await store.instances.delete('i-1');
          assert.equal(await store.instances.update('i-1', { status: 'LOST' }), null);
          assert.equal(await store.instances.get('i-1'), null, 'an update never re-creates a deleted record');
        }));

      it('should refuse a write fenced by an older term, and let a new term claim every older record', () =>
        withStore(async (store) => {
          const t = new Date('2026-01-01T00:00:00Z');
          await store.instances.upsert({ ...anInstance('i-1', 'web', 'm-1', t), status: 'STARTING', term: 4 });
          await store.instances.upsert({ ...anInstance('i-2', 'web', 'm-1', t), term: 2 });
          assert.equal(await store.instances.update('i-1', { status: 'REMOVING', term: 3 }, { term: 3 }), null, 'term 3 may not change what term 4 wrote');
          assert.equal((await store.instances.get('i-1'))?.status, 'STARTING');
          assert.equal(await store.instances.delete('i-1', { term: 3 }), false);
          assert.equal((await store.instances.update('i-1', { status: 'REMOVING', term: 4 }, { term: 4 }))?.status, 'REMOVING');
          assert.equal(await store.instances.claim(5), 2);
          assert.deepEqual((await store.instances.list()).map((i) => i.term), [5, 5]);
          assert.equal(await store.instances.claim(5), 0, 'nothing older left');
          assert.equal(await store.instances.delete('i-2', { term: 5 }), true);
        }));

      it('should delete one instance, or all of an endpoint', () =>
        withStore(async (store) => {
          const t = new Date('2026-01-01T00:00:00Z');
          for (const id of ['a1', 'a2', 'a3']) await store.instances.upsert(anInstance(id, 'a', 'm', t));
          await store.instances.upsert(anInstance('b1', 'b', 'm', t));
          assert.equal(await store.instances.delete('a1'), true);
          assert.equal(await store.instances.delete('a1'), false);
          assert.equal(await store.instances.deleteByEndpoint('a'), 2);
          assert.equal(await store.instances.deleteByEndpoint('a'), 0);
          assert.deepEqual((await store.instances.list()).map((i) => i.id), ['b1']);
        }));
    });

    describe('leases', () => {
      const lease = (holder: string, term: number, renewals: number) => ({ name: 'controller', holder, term, renewals, expiresAt: new Date('2026-01-01T00:00:10Z') });

      it('should create a lease once, and swap it only from what the swapper saw', () =>
        withStore(async (store) => {
          assert.equal(await store.leases.get('controller'), null);
          assert.deepEqual(await store.leases.create(lease('h1', 1, 0)), lease('h1', 1, 0));
          assert.equal(await store.leases.create(lease('h2', 1, 0)), null, 'a second create loses');
          const renewed = await store.leases.swap('controller', { term: 1, renewals: 0 }, { holder: 'h1', term: 1, renewals: 1, expiresAt: new Date('2026-01-01T00:00:20Z') });
          assert.equal(renewed?.renewals, 1);
          assert.equal(await store.leases.swap('controller', { term: 1, renewals: 0 }, { holder: 'h2', term: 2, renewals: 0, expiresAt: new Date() }), null, 'stale view: refused');
          const taken = await store.leases.swap('controller', { term: 1, renewals: 1 }, { holder: 'h2', term: 2, renewals: 0, expiresAt: new Date('2026-01-01T00:00:30Z') });
          assert.deepEqual(taken, { name: 'controller', holder: 'h2', term: 2, renewals: 0, expiresAt: new Date('2026-01-01T00:00:30Z') });
          assert.equal(await store.leases.swap('controller', { term: 1, renewals: 1 }, { holder: 'h1', term: 1, renewals: 2, expiresAt: new Date() }), null, 'the old holder cannot renew');
        }));

      it('should let exactly one of many simultaneous swaps win', () =>
        withStore(async (store) => {
          await store.leases.create(lease('h0', 1, 0));
          const results = await Promise.all(
            ['a', 'b', 'c', 'd'].map((holder) => store.leases.swap('controller', { term: 1, renewals: 0 }, { holder, term: 2, renewals: 0, expiresAt: new Date() })),
          );
          assert.equal(results.filter((r) => r !== null).length, 1);
        }));
    });

    logContract('events', (s) => s.events, anEvent);

    describe('events: delete', () => {
      it('should delete one event by id, and say whether it existed', () =>
        withStore(async (store) => {
          const [a, b] = [anEvent('web', new Date(Date.UTC(2026, 0, 1)), 0), anEvent('web', new Date(Date.UTC(2026, 0, 1, 0, 0, 1)), 1)];
          await store.events.append(a);
          await store.events.append(b);
          assert.equal(await store.events.delete(a.id), true);
          assert.equal(await store.events.delete(a.id), false);
          assert.deepEqual(await store.events.list('web'), [b]);
        }));
    });
    logContract('metric samples', (s) => s.samples, aSample);
    logContract('decisions', (s) => s.decisions, aDecision);
    logContract('traffic shares', (s) => s.traffic, aShare);

    describe('metric samples: latest', () => {
      it('should return the newest sample of an endpoint, or null', () =>
        withStore(async (store) => {
          assert.equal(await store.samples.latest('web'), null);
          const older = aSample('web', new Date('2026-01-01T00:00:00Z'), 1);
          const newer = aSample('web', new Date('2026-01-01T00:00:10Z'), 2);
          const elsewhere = aSample('api', new Date('2026-01-01T00:00:20Z'), 3);
          await store.samples.append(older);
          await store.samples.append(newer);
          await store.samples.append(elsewhere);
          assert.deepEqual(await store.samples.latest('web'), newer);
          assert.deepEqual(await store.samples.latest('api'), elsewhere);
          assert.equal(await store.samples.latest('none'), null);
        }));
    });

    describe('custom metrics', () => {
      const at = new Date('2026-02-03T04:05:06.789Z');
      it('should set, replace, list and delete custom metrics per endpoint and instance', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.customMetrics.list(), []);
          const wide = { endpoint: 'web', instance: '', metrics: { queue: [2, 40] as [number, number] }, updatedAt: at };
          const own = { endpoint: 'web', instance: 'i-1', metrics: { queue: [1, 10] as [number, number], 'load.avg': [0, 1.5] as [number, number] }, updatedAt: at };
          const other = { endpoint: 'api', instance: '', metrics: {}, updatedAt: at };
          assert.deepEqual(await store.customMetrics.set(wide), wide);
          await store.customMetrics.set(own);
          await store.customMetrics.set(other);
          assert.deepEqual(await store.customMetrics.list('web'), [wide, own]);
          assert.deepEqual(await store.customMetrics.list(), [other, wide, own]);
          const replaced = { ...wide, metrics: { depth: [1, 3] as [number, number] }, updatedAt: new Date(at.getTime() + 1000) };
          await store.customMetrics.set(replaced);
          assert.deepEqual(await store.customMetrics.list('web'), [replaced, own]);
          assert.equal(await store.customMetrics.delete('web', 'i-1'), 1);
          assert.equal(await store.customMetrics.delete('web', 'i-1'), 0);
          await store.customMetrics.set(own);
          assert.equal(await store.customMetrics.delete('web'), 2);
          assert.deepEqual(await store.customMetrics.list(), [other]);
        }));
    });

    describe('secrets', () => {
      it('should store a secret once: later and racing callers get the first value stored', () =>
        withStore(async (store) => {
          assert.equal(await store.secrets.getOrCreate('key', 'first'), 'first');
          assert.equal(await store.secrets.getOrCreate('key', 'second'), 'first');
          const raced = await Promise.all(['a', 'b', 'c', 'd'].map((candidate) => store.secrets.getOrCreate('other', candidate)));
          assert.equal(new Set(raced).size, 1);
          assert.ok(['a', 'b', 'c', 'd'].includes(raced[0]));
        }));

      it('should keep a secret across close and reopen', async () => {
        const store = await openFresh();
        await store.secrets.getOrCreate('key', 'kept');
        const again = await reopen(store);
        try {
          assert.equal(await again.secrets.getOrCreate('key', 'new'), 'kept');
        } finally {
          await again.close();
          await store.close();
        }
      });
    });

    describe('close and reopen', () => {
      it('should keep every kind of record across close and reopen', async () => {
        const store = await openFresh();
        const at = new Date('2026-03-04T05:06:07.089Z');
        const endpoint = await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: '[endpoint]\n' });
        const updated = await store.endpoints.update('web', 1, { state: 'RUNNING' });
        const manager = aManager('m-1');
        const instance = anInstance('i-1', 'web', 'm-1', at);
        const event = anEvent('web', at, 1);
        const sample = aSample('web', at, 2);
        const decision = aDecision('web', at, 3);
        await store.managers.upsert(manager);
        await store.instances.upsert(instance);
        await store.events.append(event);
        await store.samples.append(sample);
        await store.decisions.append(decision);
        await store.close();
        await store.close(); // closing twice is harmless

        const again = await reopen(store);
        try {
          assert.equal(endpoint.version, 1);
          assert.deepEqual(await again.endpoints.list(), [updated]);
          assert.deepEqual(await again.managers.list(), [manager]);
          assert.deepEqual(await again.instances.list(), [instance]);
          assert.deepEqual(await again.events.list('web'), [event]);
          assert.deepEqual(await again.samples.list('web'), [sample]);
          assert.deepEqual(await again.decisions.list('web'), [decision]);
          // versioning carries on from the stored version
          assert.equal((await again.endpoints.update('web', 2, { state: 'STOPPED' })).version, 3);
        } finally {
          await again.close();
        }
      });
    });
  });

  /** The shared cases of the three append-only logs. */
  function logContract<T extends { id: string; endpoint: string; at: Date }>(
    label: string,
    log: (store: Store) => {
      append(item: T): Promise<void>;
      appendMany(items: readonly T[]): Promise<void>;
      list(endpoint: string | undefined, options?: ListOptions): Promise<T[]>;
      prune(before: Date): Promise<number>;
      deleteByEndpoint(endpoint: string): Promise<number>;
    },
    make: (endpoint: string, at: Date, n: number) => T,
  ): void {
    const t0 = Date.UTC(2026, 0, 1);
    const at = (seconds: number) => new Date(t0 + seconds * 1000);
    /** Appends items 0..count-1 for `endpoint`, one second apart, in id order. */
    async function fill(store: Store, endpoint: string, count: number, from = 0): Promise<T[]> {
      const items: T[] = [];
      for (let i = from; i < from + count; i++) {
        const item = make(endpoint, at(i), i);
        await log(store).append(item);
        items.push(item);
      }
      return items;
    }

    describe(label, () => {
      it('should list what was appended, oldest first, per endpoint or for all', () =>
        withStore(async (store) => {
          const web1 = await fill(store, 'web', 2, 0);
          const api = await fill(store, 'api', 1, 2);
          const web2 = await fill(store, 'web', 2, 3);
          assert.deepEqual(await log(store).list('web'), [...web1, ...web2]);
          assert.deepEqual(await log(store).list('api'), api);
          assert.deepEqual(await log(store).list(undefined), [...web1, ...api, ...web2]);
          assert.deepEqual(await log(store).list('none'), []);
        }));

      it('should return the most recent `limit` items, oldest first, when no start is given', () =>
        withStore(async (store) => {
          const items = await fill(store, 'web', 5);
          assert.deepEqual(await log(store).list('web', { limit: 2 }), items.slice(3));
          assert.deepEqual(await log(store).list('web', { limit: 10 }), items);
          assert.deepEqual(await log(store).list(undefined, { limit: 1 }), items.slice(4));
        }));

      it('should return at most 100 items by default, the most recent ones', () =>
        withStore(async (store) => {
          const items = await fill(store, 'web', 103);
          const listed = await log(store).list('web');
          assert.equal(listed.length, 100);
          assert.deepEqual(listed.map((i) => i.id), items.slice(3).map((i) => i.id));
        }));

      it('should number items in the order they were stored, and order by that number, not by id', () =>
        withStore(async (store) => {
          // Ids made on a server whose clock is behind: the later item has the smaller id.
          const late = { ...make('web', at(5), 5), id: '01aaaaaa-0000-7000-8000-000000000002' } as T;
          const early = { ...make('web', at(1), 1), id: '01aaaaaa-0000-7000-8000-000000000001' } as T;
          await log(store).append(late);
          await log(store).appendMany([early]);
          const listed = (await log(store).list('web')) as (T & { seq?: number })[];
          assert.deepEqual(listed.map((i) => i.id), [late.id, early.id], 'stored order, not id order');
          assert.ok(Number.isInteger(listed[0]!.seq) && listed[1]!.seq! === listed[0]!.seq! + 1, JSON.stringify(listed.map((i) => i.seq)));
          assert.equal((late as T & { seq?: number }).seq, listed[0]!.seq, 'the appended item carries its number');
          assert.deepEqual((await log(store).list('web', { afterId: late.id })).map((i) => i.id), [early.id], 'afterId resumes by number');
          assert.deepEqual((await log(store).list(undefined, { afterSeq: listed[0]!.seq })).map((i) => i.id), [early.id]);
          assert.deepEqual(await log(store).list(undefined, { afterSeq: listed[1]!.seq }), []);
          // Where a subscriber resumes after an id, in the store's order (the logs subscriptions replay have it).
          const repo = log(store) as { seqOf?: (id: string) => Promise<number | undefined> };
          if (repo.seqOf) {
            assert.equal(await repo.seqOf(early.id), listed[1]!.seq);
            assert.equal(await repo.seqOf('01aaaaaa-0000-7000-8000-000000000009'), undefined);
          }
        }));

      it('should give every item its own number when many append at once', () =>
        withStore(async (store) => {
          await Promise.all([
            ...Array.from({ length: 20 }, (_, n) => log(store).append(make('web', at(n), n))),
            ...Array.from({ length: 5 }, (_, n) => log(store).appendMany([make('api', at(n), 100 + n), make('api', at(n), 200 + n)])),
          ]);
          const seqs = ((await log(store).list(undefined, { afterSeq: 0, limit: 100 })) as (T & { seq?: number })[]).map((i) => i.seq!);
          assert.equal(seqs.length, 30);
          assert.deepEqual(seqs, Array.from({ length: 30 }, (_, n) => n + 1), 'one number each, none twice, none skipped');
        }));

      it('should return the first `limit` items after `afterId`', () =>
        withStore(async (store) => {
          const items = await fill(store, 'web', 6);
          await fill(store, 'api', 2, 10);
          assert.deepEqual(await log(store).list('web', { afterId: items[1].id, limit: 2 }), items.slice(2, 4));
          assert.deepEqual(await log(store).list('web', { afterId: items[1].id }), items.slice(2));
          assert.deepEqual(await log(store).list('web', { afterId: items[5].id }), []);
          // an id that was never stored still works as a position
          assert.deepEqual(await log(store).list('web', { afterId: '0', limit: 1 }), items.slice(0, 1));
        }));

      it('should return items at or after `since`, oldest first, and combine it with afterId', () =>
        withStore(async (store) => {
          const items = await fill(store, 'web', 6);
          assert.deepEqual(await log(store).list('web', { since: at(3) }), items.slice(3));
          assert.deepEqual(await log(store).list('web', { since: new Date(at(3).getTime() + 1) }), items.slice(4));
          assert.deepEqual(await log(store).list('web', { since: at(1), limit: 2 }), items.slice(1, 3));
          assert.deepEqual(await log(store).list('web', { since: at(1), afterId: items[3].id }), items.slice(4));
          assert.deepEqual(await log(store).list('web', { since: at(100) }), []);
        }));

      it('should refuse a bad limit with BAD_USER_INPUT', () =>
        withStore(async (store) => {
          await rejectsWithCode(log(store).list('web', { limit: 0 }), ErrorCodes.BAD_USER_INPUT);
          await rejectsWithCode(log(store).list('web', { limit: 2.5 }), ErrorCodes.BAD_USER_INPUT);
        }));

      it('should prune items strictly older than a time and report how many', () =>
        withStore(async (store) => {
          const web = await fill(store, 'web', 4);
          const api = await fill(store, 'api', 2, 4);
          assert.equal(await log(store).prune(at(2)), 2);
          assert.equal(await log(store).prune(at(2)), 0);
          assert.deepEqual(await log(store).list(undefined), [...web.slice(2), ...api]);
          assert.equal(await log(store).prune(at(1000)), 4);
          assert.deepEqual(await log(store).list(undefined), []);
        }));

      it('should prune more items than one delete statement takes', () =>
        withStore(async (store) => {
          const items = Array.from({ length: 4500 }, (_, i) => make(i % 2 === 0 ? 'api' : 'web', at(i), i));
          await log(store).appendMany(items);
          assert.equal(await log(store).prune(at(4400)), 4400);
          assert.deepEqual(await log(store).list(undefined, { limit: 1000 }), items.slice(4400));
        }));

      it("should delete every item of one endpoint, and only that endpoint's", () =>
        withStore(async (store) => {
          const web = await fill(store, 'web', 3);
          const api = await fill(store, 'api', 2, 3);
          assert.equal(await log(store).deleteByEndpoint('web'), 3);
          assert.equal(await log(store).deleteByEndpoint('web'), 0);
          assert.deepEqual(await log(store).list(undefined), api);
          assert.equal(web.length, 3);
        }));

      it('should refuse a duplicate id with ALREADY_EXISTS', () =>
        withStore(async (store) => {
          const [item] = await fill(store, 'web', 1);
          await rejectsWithCode(log(store).append({ ...item }), ErrorCodes.ALREADY_EXISTS);
          assert.equal((await log(store).list('web')).length, 1);
        }));

      it('should append a batch in one call, in order, however large', () =>
        withStore(async (store) => {
          await log(store).appendMany([]);
          // More than one INSERT's worth on SQLite (500 rows a statement), across two endpoints.
          const items = Array.from({ length: 1203 }, (_, i) => make(i % 3 === 0 ? 'api' : 'web', at(i), i));
          await log(store).appendMany(items);
          const web = items.filter((i) => i.endpoint === 'web');
          assert.deepEqual(await log(store).list('web', { limit: 1000 }), web.slice(-1000));
          assert.deepEqual(await log(store).list('api', { limit: 1000 }), items.filter((i) => i.endpoint === 'api'));
          assert.deepEqual(await log(store).list('web', { afterId: items[1].id, limit: 1 }), [items[2]]);
        }));

      it('should refuse a batch that repeats a stored id with ALREADY_EXISTS, naming the batch', () =>
        withStore(async (store) => {
          const [item] = await fill(store, 'web', 1);
          await assert.rejects(log(store).appendMany([{ ...item }]), (error: unknown) => {
            assertCode(error, ErrorCodes.ALREADY_EXISTS);
            assert.match((error as Error).message, new RegExp(`batch of 1 \\(ids ${item.id} … ${item.id}\\)`));
            return true;
          });
          assert.equal((await log(store).list('web')).length, 1);
        }));

      it('should round-trip dates to the millisecond and any JSON payload', () =>
        withStore(async (store) => {
          const item = make('web', new Date('2026-07-08T09:10:11.123Z'), 42);
          await log(store).append(item);
          const [back] = await log(store).list('web');
          assert.ok(back.at instanceof Date);
          assert.equal(back.at.toISOString(), '2026-07-08T09:10:11.123Z');
          assert.deepEqual(back, item);
        }));
    });
  }
}


function aManager(id: string): ManagerRecord {
  return {
    id,
    name: `host-${id}`,
    address: '192.168.1.10',
    slots: 1000,
    usedSlots: 10,
    clouds: ['docker'],
    loadbalancers: ['nginx'],
    problems: [],
    lastSeen: new Date('2026-01-02T03:04:05.006Z'),
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    status: 'READY',
  };
}

function anInstance(id: string, endpoint: string, managerId: string | null, createdAt: Date): InstanceRecord {
  return {
    id,
    endpoint,
    managerId,
    containerId: null,
    address: null,
    status: 'PENDING',
    slots: 10,
    reason: managerId ? null : 'no manager has 10 free slots',
    decommissionedAt: null,
    createdAt,
    updatedAt: createdAt,
    term: 0,
  };
}

/** A payload exercising JSON: nesting, arrays, null, booleans, floats, unicode, and keys with `.` and `$`. */
function payload(n: number): Record<string, unknown> {
  return {
    n,
    nested: { list: [1, 'two', { three: 3 }], empty: {}, none: null, yes: true, no: false },
    'rule 20<=rate<=50': { min: 0.5, max: null },
    'custom.metric': 1.25,
    $dollar: 'ü€ — ok',
  };
}

function anEvent(endpoint: string, at: Date, n: number): EventRecord {
  return { id: newId(), endpoint, kind: 'STATE_CHANGED', message: `event ${n} of ${endpoint}`, data: payload(n), at };
}

function aSample(endpoint: string, at: Date, n: number): MetricSampleRecord {
  return {
    id: newId(),
    endpoint,
    at,
    instances: n,
    metrics: { rate: 33.5 + n, active: 3.6, 'custom.queue': 0.1 + 0.2, response: 2 },
  };
}

function aShare(endpoint: string, at: Date, n: number): TrafficShareRecord {
  return {
    id: newId(),
    endpoint,
    managerId: `m-${n % 3}`,
    at,
    seconds: 1.25,
    backends: { '127.0.0.2:32768': { hits: 40 + n, bytes: 4096, responseMs: 12.5, timed: 40, errors: 0, active: 3 }, '[::1]:80': { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 1, active: 0 } },
    pending: n % 2 ? 0.5 : 0,
  };
}

function aDecision(endpoint: string, at: Date, n: number): DecisionRecord {
  return { id: newId(), endpoint, at, record: payload(n) };
}
