import type { Applier } from '../../../../lambda/engine/sync/apply';
import { Dispatch } from '../../../../lambda/engine/sync/dispatch';
import { UnsupportedChangeError } from '../../../../lambda/engine/sync/errors';
import type { PgOutputMessage } from '../../../../lambda/engine/sync/pgoutput';
import type { SyncTable } from '../../../../lambda/engine/sync/tables';

/** The decode dispatch, message by message, against an applier that records its calls (no server). */
function setup(storedLsn = 0n, flushRows = 1000) {
  const calls: string[] = [];
  const applier = {
    pending: 0,
    async bind(table: SyncTable) {
      calls.push(`bind ${table.sourceTable}`);
      return { table, columns: [], keyIdx: [0], types: [], stage: 's', pending: new Map() };
    },
    async insert(_r: unknown, row: string[]) {
      calls.push(`insert ${row[0]}`);
      this.pending++;
    },
    async update(_r: unknown, _o: unknown, row: string[]) {
      calls.push(`update ${row[0]}`);
      this.pending++;
    },
    async delete(_r: unknown, old: string[]) {
      calls.push(`delete ${old[0]}`);
      this.pending++;
    },
    async flush() {
      calls.push(`flush ${this.pending}`);
      this.pending = 0;
    },
  };
  const table = { sourceTable: 'public.items', spec: { name: 'items' } } as unknown as SyncTable;
  const d = new Dispatch(applier as unknown as Applier, {
    slot: 'sy_t_fwd',
    publication: 'sy_t_fwd',
    bySource: new Map([['public.items', table]]),
    storedLsn,
    flushRows,
  });
  const run = async (ms: PgOutputMessage[]) => {
    const out: boolean[] = [];
    for (const m of ms) out.push(await d.handle(m));
    return out;
  };
  return { d, calls, run };
}

const begin = (finalLsn: bigint): PgOutputMessage => ({ tag: 'begin', finalLsn, commitTimeUs: 1_000_000n, xid: 7 });
const commit = (endLsn: bigint): PgOutputMessage => ({
  tag: 'commit',
  commitLsn: endLsn - 8n,
  endLsn,
  commitTimeUs: 1_000_000n,
});
const relation: PgOutputMessage = {
  tag: 'relation',
  relid: 1,
  schema: 'public',
  table: 'items',
  replicaIdentity: 'd',
  columns: [{ name: 'id', typeOid: 20, typmod: -1, isKey: true }],
};
const ins = (id: string): PgOutputMessage => ({ tag: 'insert', relid: 1, row: [id] });

describe('decode dispatch', () => {
  test('GIVEN a transaction WHEN dispatched THEN its changes reach the applier in order and only its commit is a boundary', async () => {
    const { d, calls, run } = setup();
    const boundaries = await run([
      begin(100n),
      relation,
      ins('1'),
      { tag: 'update', relid: 1, old: null, oldKind: null, row: ['1'] },
      { tag: 'delete', relid: 1, old: ['1'], oldKind: 'K' },
      commit(108n),
    ]);
    expect(boundaries).toEqual([false, false, false, false, false, true]);
    expect(calls).toEqual(['bind public.items', 'insert 1', 'update 1', 'delete 1']);
    expect(d).toMatchObject({ transactions: 1, pendingEnd: 108n, processedEnd: 108n, inTransaction: false });
    expect(d.pendingTs).toBe('2000-01-01T00:00:01.000000Z');
  });

  test('GIVEN a large transaction WHEN dispatched THEN rows are flushed into the open destination transaction as they arrive', async () => {
    const { calls, run } = setup(0n, 2);
    await run([begin(100n), relation, ins('1'), ins('2'), ins('3'), ins('4'), ins('5')]);
    expect(calls).toEqual([
      'bind public.items',
      'insert 1',
      'insert 2',
      'flush 2',
      'insert 3',
      'insert 4',
      'flush 2',
      'insert 5',
    ]);
  });

  test('GIVEN transactions at or below the stored position, from the sync origin, or marked WHEN dispatched THEN nothing is applied and each is counted', async () => {
    const { d, calls, run } = setup(200n);
    await run([begin(150n), relation, ins('1'), commit(158n)]);
    await run([begin(300n), { tag: 'origin', originLsn: 0n, name: 'sy_t_rev' }, ins('2'), commit(308n)]);
    await run([
      begin(400n),
      { tag: 'message', transactional: true, lsn: 401n, prefix: 'switchyard', content: Buffer.from('t:reverse') },
      ins('3'),
      commit(408n),
    ]);
    await run([begin(500n), { tag: 'origin', originLsn: 0n, name: 'someone_else' }, ins('4'), commit(508n)]);
    expect(calls).toEqual(['bind public.items', 'insert 4']);
    expect(d).toMatchObject({
      alreadyApplied: 1,
      loopSkipped: 2,
      transactions: 1,
      pendingEnd: 508n,
      processedEnd: 508n,
    });
  });

  test('GIVEN a message outside any transaction (a fence) WHEN dispatched THEN it is a boundary and the stream is processed up to it', async () => {
    const { d, run } = setup();
    const fence: PgOutputMessage = {
      tag: 'message',
      transactional: false,
      lsn: 900n,
      prefix: 'switchyard-fence',
      content: Buffer.alloc(0),
    };
    expect(await run([fence])).toEqual([true]);
    expect(d.processedEnd).toBe(900n);
    expect(d.transactions).toBe(0);
  });

  test('fails closed: a mark after changes, a TRUNCATE, an unknown relation, a change outside a transaction, a streamed message', async () => {
    const mark: PgOutputMessage = {
      tag: 'message',
      transactional: true,
      lsn: 1n,
      prefix: 'switchyard',
      content: Buffer.alloc(0),
    };
    const cases: [PgOutputMessage[], RegExp][] = [
      [[begin(1n), relation, ins('1'), mark], /carried changes before its mark/],
      [[begin(1n), relation, { tag: 'truncate', relids: [1] }], /TRUNCATE of items on the source cannot be synced/],
      [[begin(1n), { ...ins('1'), relid: 9 } as PgOutputMessage], /relation 9, which is not a spec table/],
      [[ins('1')], /a change outside a transaction at slot sy_t_fwd/],
      [[{ tag: 'unsupported', code: 'S' }], /pgoutput message S/],
    ];
    for (const [ms, re] of cases) {
      const err = await setup()
        .run(ms)
        .catch((e) => e);
      expect(err).toBeInstanceOf(UnsupportedChangeError);
      expect(err.message).toMatch(re);
    }
  });
});
