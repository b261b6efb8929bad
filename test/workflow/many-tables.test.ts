import { Template } from 'aws-cdk-lib/assertions';
import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { connect, type DbEndpoint, parseSpec } from '../../lambda/engine';
import { registerSpec } from '../../lambda/engine/specs';
import { localDeps, localWorld, seedExampleConfig } from '../../lambda/rehearsal/local-deps';
import {
  type CfnTemplate,
  definitionFromTemplate,
  runLocally,
  type RunOptions,
} from '../../lambda/rehearsal/workflow-runner';
import { parse, stageFrom } from '../lib/helpers';
import { freshDatabase } from '../support/pg';
import { answeringProbe } from './helpers';

/**
 * Migrate's inline copy on a schema of many small tables linked by foreign keys: 60 parent tables
 * and 60 child tables (each child references its parent), in groups of 16 tables, so groups cut
 * through parent/child pairs. Writes go on in the old database while the copy runs: between groups
 * (deterministically, before each CopyTable call) and all along (a writer loop) through Validate.
 */
const PAIRS = 60;
const PARENT_ROWS = 20;
const CHILD_ROWS = 50;
const GROUP = 16;
const parent = (i: number) => `p${String(i).padStart(3, '0')}`;
const child = (i: number) => `c${String(i).padStart(3, '0')}`;
const parentDdl = (i: number) => `CREATE TABLE ${parent(i)} (id bigint PRIMARY KEY, name text NOT NULL)`;
const childDdl = (i: number) =>
  `CREATE TABLE ${child(i)} (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES ${parent(i)} (id), ` +
  'body text, n int NOT NULL)';

// Interleaved (p000, c000, p001, c001, …): a group of 16 holds 8 pairs; every child follows its parent.
const TABLES = Array.from({ length: PAIRS }, (_x, i) => [
  { name: parent(i), columns: { name: 's.name' } },
  { name: child(i), columns: { parent_id: 's.parent_id', body: 's.body', n: 's.n' } },
]).flat();

const SPEC = parseSpec({
  version: 1,
  name: 'many-small-tables-wf',
  targetDdl: Array.from({ length: PAIRS }, (_x, i) => [parentDdl(i), childDdl(i)]).flat(),
  tables: TABLES.map((t) => ({ ...t, source: { table: t.name }, key: ['id'], target: { table: t.name } })),
});
registerSpec(SPEC);

let cached: CfnTemplate | undefined;
const template = () =>
  (cached ??= Template.fromStack(
    stageFrom(parse({ stageName: 'wf', migration: { copy: { tablesPerGroup: GROUP } } })).migration,
  ).toJSON() as CfnTemplate);

async function seedSource(db: DbEndpoint): Promise<void> {
  const c = await connect(db);
  try {
    for (let i = 0; i < PAIRS; i++) {
      await c.query(
        `${parentDdl(i)}; ${childDdl(i)};
         INSERT INTO ${parent(i)} SELECT g, 'parent ' || g FROM generate_series(1, ${PARENT_ROWS}) g;
         INSERT INTO ${child(i)} SELECT g, 1 + g % ${PARENT_ROWS}, CASE WHEN g % 7 = 0 THEN NULL ELSE md5(g::text) END, g
           FROM generate_series(1, ${CHILD_ROWS}) g`,
      );
    }
    await c.query('ANALYZE');
  } finally {
    await c.end();
  }
}

/** Writes to the old database: a new parent and two children, an update and a delete, in pair `i`. */
class Writer {
  writes = 0;
  private constructor(
    private readonly c: import('pg').Client,
    /** Keys this writer inserts start here (two writers: disjoint ranges). */
    private next: number,
  ) {}
  static async open(db: DbEndpoint, firstId: number): Promise<Writer> {
    const c = await connect(db);
    c.on('error', () => undefined); // the databases are dropped with the server: a late error is not the test's
    return new Writer(c, firstId);
  }
  async write(i: number): Promise<void> {
    const id = this.next++;
    await this.c.query(
      `BEGIN;
       INSERT INTO ${parent(i)} VALUES (${id}, 'written ${id}');
       INSERT INTO ${child(i)} VALUES (${id}, ${id}, 'child of ${id}', 1), (${id + 100_000}, ${id}, NULL, 2);
       UPDATE ${child(i)} SET n = n + 1, body = coalesce(body, '') || '+' WHERE id = ${1 + (id % CHILD_ROWS)};
       DELETE FROM ${child(i)} WHERE id = ${1 + ((id * 7) % CHILD_ROWS)};
       COMMIT`,
    );
    this.writes++;
  }
  close(): Promise<void> {
    return this.c.end();
  }
}

/** Every table's rows as one fingerprint per table (count and an order-independent hash of each row's text). */
async function fingerprints(db: DbEndpoint): Promise<Record<string, string>> {
  const c = await connect(db);
  try {
    const out: Record<string, string> = {};
    for (const t of TABLES) {
      const r = await c.query(
        `SELECT count(*) || '/' || coalesce(sum(hashtextextended(x::text, 0)), 0) AS f FROM public.${t.name} x`,
      );
      out[t.name] = r.rows[0].f as string;
    }
    return out;
  } finally {
    await c.end();
  }
}

describe('Migrate inline copy of many small tables with foreign keys (synthesized definition, real PostgreSQL)', () => {
  test('GIVEN 120 tables in groups of 16 and writes during the copy WHEN migrated THEN each group is one CopyTable call, every row arrives, the foreign keys are validated and traffic ends 100 % new', async () => {
    const [source, target] = await Promise.all([freshDatabase('wmsrc'), freshDatabase('wmtgt')]);
    await seedSource(source);
    const router = new MemoryRouter();
    const world = localWorld(source, target, { probe: answeringProbe, router });
    await seedExampleConfig(world);
    const writer = await Writer.open(source, 1_000);
    const background = await Writer.open(source, 10_000);
    let writing = true;
    let validateWrites = 0;
    let pair = 0;
    const loop = (async () => {
      while (writing) {
        await background.write(pair++ % PAIRS);
        await new Promise((r) => setTimeout(r, 20)); // a steady load, not a flood
      }
    })();
    const copyCalls: string[][] = [];
    const copies: { ok: boolean; complete?: boolean }[] = [];
    const opts: RunOptions = {
      onStep: (st) => {
        // SWITCHYARD_TIMINGS=1 prints the validation phases' times (the figure in docs/data-engine.md).
        if (process.env.SWITCHYARD_TIMINGS && /Validate$/.test(st.state))
          process.stderr.write(`${st.state}: ${st.ms} ms (${st.ok ? 'ok' : st.error})\n`);
        if (st.state === 'CopyTable')
          copies.push({ ok: st.ok, complete: (st.output as { complete?: boolean })?.complete });
      },
      beforeTask: async (state, _phase, input) => {
        if (state === 'CopyTable') {
          copyCalls.push((input as { tables: string[] }).tables);
          // Tables of the groups already copied and of those still to come change between the groups.
          for (let i = 0; i < PAIRS; i += 7) await writer.write(i);
        }
        // Through Validate (the real case: the service keeps writing while 120 tables are checked, the
        // differing ones share the recheck rounds). Writes after this point reach the target by the final drain.
        if (state === 'Validate') validateWrites = background.writes;
        if (state === 'Smoke' && writing) {
          writing = false;
          await loop;
        }
      },
    };
    try {
      const ex = await runLocally(
        template(),
        definitionFromTemplate(template(), 'migrate'),
        () => ({ ...localDeps(world, { stage: 'wf' }), specName: SPEC.name }),
        { migrationId: 'm-many-tables' },
        opts,
      );
      expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
      // 120 tables in spec order, 16 a group: 8 groups, each copied by one call (nothing here runs out of time).
      expect(copyCalls).toEqual(
        Array.from({ length: 8 }, (_x, g) => SPEC.tables.slice(g * GROUP, (g + 1) * GROUP).map((t) => t.name)),
      );
      expect(copies).toEqual(Array(8).fill({ ok: true, complete: true }));
      expect((ex.output as { copyGroups: unknown }).copyGroups).toEqual({ groups: 8, tablesPerGroup: GROUP });
      expect(writer.writes).toBe(8 * Math.ceil(PAIRS / 7));
      // The writer went on during Validate.
      expect(background.writes).toBeGreaterThan(validateWrites);
      expect(await fingerprints(target)).toEqual(await fingerprints(source));
      // The deferred foreign keys are back and valid.
      const fks = await connect(target).then(async (c) => {
        try {
          return (await c.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND convalidated`))
            .rows[0].n as number;
        } finally {
          await c.end();
        }
      });
      expect(fks).toBe(PAIRS);
      expect(router.history.at(-1)).toEqual({ old: 0, new: 100 });
    } finally {
      writing = false;
      await loop.catch(() => undefined);
      await Promise.all([writer.close(), background.close()]);
    }
  }, 600_000);

  test('GIVEN the third group fails WHEN the migration is run again with the same id THEN every group is copied again (the failure dropped the capture, voiding the copied chunks) and the data matches', async () => {
    const [source, target] = await Promise.all([freshDatabase('wmrsrc'), freshDatabase('wmrtgt')]);
    await seedSource(source);
    const world = localWorld(source, target, { probe: answeringProbe });
    await seedExampleConfig(world);
    const run = (opts: RunOptions) =>
      runLocally(
        template(),
        definitionFromTemplate(template(), 'migrate'),
        () => ({ ...localDeps(world, { stage: 'wf' }), specName: SPEC.name }),
        { migrationId: 'm-many-rerun' },
        opts,
      );
    let calls = 0;
    const first = await run({
      beforeTask: (state) => {
        // From the third on: the local interpreter still starts the Map's queued iterations after one failed
        // (Step Functions does not); each fails at once here instead of copying beside the rerun.
        if (state === 'CopyTable' && ++calls >= 3)
          throw Object.assign(new Error('injected into CopyTable'), { name: 'InjectedFault' });
      },
    });
    expect([first.status, first.error]).toEqual(['FAILED', 'InjectedFault']);
    const copied: { rowsCopied: number; complete: boolean }[] = [];
    const second = await run({
      onStep: (st) => {
        if (st.state === 'CopyTable' && st.ok) copied.push(st.output as { rowsCopied: number; complete: boolean });
      },
    });
    expect([second.status, second.error, second.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    // 16 tables (8 pairs) a group, the last one 8 (4 pairs); a pair holds 20 + 50 rows. The first two groups,
    // copied by the failed run under a capture its failure path dropped, are not skipped: writes between
    // that drop and the new capture would be lost.
    const pair = PARENT_ROWS + CHILD_ROWS;
    expect(copied.map((c) => [c.rowsCopied, c.complete])).toEqual([
      ...Array(7).fill([8 * pair, true]),
      [4 * pair, true],
    ]);
    expect(await fingerprints(target)).toEqual(await fingerprints(source));
  }, 600_000);
});
