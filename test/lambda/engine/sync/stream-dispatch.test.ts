import type { Applier } from '../../../../lambda/engine/sync/apply';
import { Dispatch, StopAfterApplied } from '../../../../lambda/engine/sync/dispatch';
import { UnsupportedChangeError } from '../../../../lambda/engine/sync/errors';
import type { PgOutputMessage } from '../../../../lambda/engine/sync/pgoutput';
import type { SyncTable } from '../../../../lambda/engine/sync/tables';
import { truncateRefusal } from '../../../../lambda/engine/sync/truncate';

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
    async flushAhead() {
      calls.push(`flush ${this.pending}`);
      this.pending = 0;
    },
    startTransaction() {
      this.started++;
    },
    endTransaction() {},
    started: 0,
    discardTransaction() {
      calls.push('discard');
      return true;
    },
    truncateRefusal(rels: ({ table: SyncTable } | undefined)[]) {
      return truncateRefusal(rels.map((r) => r?.table));
    },
    async truncate(rels: { table: SyncTable }[]) {
      calls.push(`truncate ${rels.map((r) => r.table.spec.name).join(',')}`);
    },
  };
  const table = {
    sourceTable: 'public.items',
    spec: { name: 'items', columns: { id: 's.id' } },
    sharesDestinationWith: [],
  } as unknown as SyncTable;
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

  test('GIVEN the marker relation WHEN a transaction writes the mark first THEN it is skipped; a mark after changes is refused', async () => {
    const markRel: PgOutputMessage = {
      ...relation,
      relid: 5,
      schema: 'switchyard',
      table: 'loop_marks',
    } as PgOutputMessage;
    const mark = (): PgOutputMessage => ({ tag: 'update', relid: 5, old: null, oldKind: null, row: ['m'] });
    const { d, calls, run } = setup();
    await run([begin(100n), markRel, relation, mark(), ins('1'), commit(108n)]);
    expect(d).toMatchObject({ transactions: 0, loopSkipped: 1 });
    expect(calls).not.toContain('insert 1');
    const err = await setup()
      .run([begin(100n), markRel, relation, ins('1'), mark()])
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedChangeError);
    expect(err.message).toMatch(/carried changes before its mark/);
  });

  test('GIVEN a TRUNCATE of a one-to-one table WHEN dispatched THEN the applier replays it in order', async () => {
    const { d, calls, run } = setup();
    await run([begin(100n), relation, ins('1'), { tag: 'truncate', relids: [1] }, commit(108n)]);
    expect(calls).toEqual(['bind public.items', 'insert 1', 'truncate items']);
    expect(d).toMatchObject({ transactions: 1, pendingEnd: 108n });
  });

  test('GIVEN a TRUNCATE that cannot be replayed or a dropped mapped column WHEN dispatched THEN the transaction is taken back and the run is told to stop after the ones before it', async () => {
    const { run, calls } = setup();
    const err = await run([begin(1n), relation, ins('1'), { tag: 'truncate', relids: [1, 9] }]).catch((e) => e);
    expect(err).toBeInstanceOf(StopAfterApplied);
    expect(err.error).toBeInstanceOf(UnsupportedChangeError);
    expect(err.error.message).toMatch(/not a spec table/);
    expect(calls).toContain('discard');
    const dropped = { ...relation, columns: [{ name: 'other', typeOid: 20, typmod: -1, isKey: true }] };
    const e2 = await setup()
      .run([begin(1n), dropped as PgOutputMessage])
      .catch((e) => e);
    expect(e2).toBeInstanceOf(StopAfterApplied);
    expect(e2.error.message).toMatch(/no longer has column\(s\) id/);
  });
});
