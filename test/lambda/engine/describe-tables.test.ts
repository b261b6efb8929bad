import type { Client } from 'pg';
import {
  checkSource,
  checkSources,
  checkTarget,
  checkTargets,
  connect,
  type DbEndpoint,
  describeTable,
  describeTables,
  describeTablesWith,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
  SchemaMismatchError,
} from '../../../lambda/engine';
import { asMigrationRole, freshDatabase, query } from '../../support/pg';

/**
 * describeTables describes many tables in a few round trips; what it returns must be what
 * describeTable returns for each table, and a broken table must fail with describeTable's error.
 */
const PLAIN = 300; // more than one multi-statement describe (250 a query)
const plain = (i: number) => `p${String(i).padStart(3, '0')}`;

const SOURCE_DDL = [
  `CREATE DOMAIN short_name AS varchar(40)`,
  `CREATE TYPE mood AS ENUM ('ok', 'meh')`,
  `CREATE TABLE odd (id bigint, part int, name short_name NOT NULL, tags text[] NOT NULL, m mood NOT NULL,
     price numeric(12, 2) NOT NULL, at timestamp NOT NULL, PRIMARY KEY (id, part))`,
  `CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY, v int NOT NULL)`,
  ...Array.from({ length: PLAIN }, (_x, i) => `CREATE TABLE ${plain(i)} (id bigint PRIMARY KEY, v text NOT NULL)`),
];

const TARGET_DDL = [
  `CREATE TYPE mood AS ENUM ('ok', 'meh')`,
  `CREATE TABLE odd (id bigint, part int, name varchar(30) NOT NULL, tags text[] NOT NULL, m mood NOT NULL,
     price numeric(10, 1) NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, part))`,
  `CREATE TABLE codes (code text COLLATE "en-x-icu" PRIMARY KEY, v int NOT NULL)`,
  `CREATE TABLE joined (id bigint PRIMARY KEY, v text NOT NULL, n int NOT NULL)`,
  ...Array.from({ length: PLAIN }, (_x, i) => `CREATE TABLE ${plain(i)} (id bigint PRIMARY KEY, v text NOT NULL)`),
];

function specOf(): MigrationSpec {
  return parseSpec({
    version: 1,
    name: 'describe-many',
    targetDdl: TARGET_DDL,
    tables: [
      {
        name: 'odd',
        source: { table: 'odd' },
        key: ['id', 'part'],
        target: { table: 'odd' },
        columns: { name: 's.name', tags: 's.tags', m: 's.m::text', price: 's.price', at: 's.at' },
        allowLossy: ['name', 'price'],
      },
      { name: 'codes', source: { table: 'codes' }, key: ['code'], target: { table: 'codes' }, columns: { v: 's.v' } },
      {
        name: 'joined',
        source: { query: 'SELECT p.id, p.v, length(p.v) AS n FROM p000 p' },
        key: ['id'],
        target: { table: 'joined' },
        columns: { v: 's.v', n: 's.n' },
      },
      ...Array.from({ length: PLAIN }, (_x, i) => ({
        name: plain(i),
        source: { table: plain(i) },
        key: ['id'],
        target: { table: plain(i) },
        columns: { v: i % 2 ? 's.v' : "s.v || '!'" },
      })),
    ],
  });
}

async function pair(prefix: string): Promise<{ source: DbEndpoint; target: DbEndpoint; spec: MigrationSpec }> {
  const source = await asMigrationRole(await freshDatabase(`${prefix}s`));
  const target = await asMigrationRole(await freshDatabase(`${prefix}t`));
  await query(source, SOURCE_DDL.join('; '));
  const spec = specOf();
  await prepareTarget(spec, source, target);
  return { source, target, spec };
}

async function withPair<T>(db: { source: DbEndpoint; target: DbEndpoint }, fn: (s: Client, t: Client) => Promise<T>) {
  const [src, tgt] = await Promise.all([connect(db.source, { readOnly: true }), connect(db.target)]);
  try {
    return await fn(src, tgt);
  } finally {
    await Promise.all([src.end(), tgt.end()]);
  }
}

describe('describeTables (many tables in a few round trips)', () => {
  test('GIVEN domains, arrays, an enum, a narrowing, a composite key, a query source, a key collation that differs and 300 plain tables WHEN described together THEN each layout is what describeTable gives, in order', async () => {
    const db = await pair('desc');
    const { one, many, byPairs } = await withPair(db, async (src, tgt) => {
      const one = [];
      for (const t of db.spec.tables) one.push(await describeTable(t, src, tgt));
      return {
        one,
        many: await describeTables(db.spec.tables, src, tgt),
        byPairs: await describeTablesWith(db.spec.tables, db.source, db.target, { concurrency: 2 }),
      };
    });
    expect(many).toEqual(one);
    expect(byPairs).toEqual(one);
    // the cases are really there
    expect(many[0].columns.filter((c) => c.narrowing).map((c) => c.name)).toEqual(['name', 'price']);
    expect(many[0].sourceKeyTypes).toEqual(['bigint', 'integer']);
    expect(many[1].targetKeyCollations).toEqual(['pg_catalog."C"']);
    expect(many[2].targetKeyCollations).toBeUndefined();
    expect(many.map((l) => l.spec.name)).toEqual(db.spec.tables.map((t) => t.name));
  });

  test("GIVEN one table whose expression the source cannot run, or whose target lacks a column WHEN described together THEN the error is describeTable's for that table", async () => {
    const db = await pair('descbad');
    const broken = db.spec.tables.map((t, i) => (i === 150 ? { ...t, columns: { v: 's.no_such_column' } } : t));
    await withPair(db, async (src, tgt) => {
      const alone = await describeTable(broken[150], src, tgt).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(alone).toMatch(/no_such_column/);
      await expect(describeTables(broken, src, tgt)).rejects.toThrow(alone!);
      const missing = db.spec.tables.map((t, i) => (i === 40 ? { ...t, columns: { ...t.columns, w: 's.v' } } : t));
      await expect(describeTables(missing, src, tgt)).rejects.toThrow(SchemaMismatchError);
      await expect(describeTables(missing, src, tgt)).rejects.toThrow(
        `table ${plain(37)}: target table public.${plain(37)} has no column w`,
      );
    });
  });

  test("GIVEN many tables WHEN checked together (checkSources, checkTargets) THEN they pass; one broken table fails with checkSource's or checkTarget's error naming it", async () => {
    const db = await pair('descchk');
    await withPair(db, async (src, tgt) => {
      await checkSources(src, db.spec.tables);
      await checkTargets(tgt, db.spec.tables);
      const badExpr = db.spec.tables.map((t, i) => (i === 200 ? { ...t, columns: { v: 's.nope' } } : t));
      const alone = await checkSource(src, badExpr[200]).then(
        () => 'passed',
        (e: Error) => e.message,
      );
      expect(alone).toMatch(/^table p197: expression for target column v \(s.nope\) does not work/);
      await expect(checkSources(src, badExpr)).rejects.toThrow(alone);
      const badKey = db.spec.tables.map((t, i) => (i === 250 ? { ...t, target: { ...t.target, key: ['v'] } } : t));
      const keyAlone = await checkTarget(tgt, badKey[250]).then(
        () => 'passed',
        (e: Error) => e.message,
      );
      expect(keyAlone).toMatch(/^table p247: target table public.p247 needs a primary key or unique index on \(v\)/);
      await expect(checkTargets(tgt, badKey)).rejects.toThrow(keyAlone);
      const gone = db.spec.tables.map((t, i) => (i === 5 ? { ...t, target: { table: 'nowhere' } } : t));
      await expect(checkTargets(tgt, gone)).rejects.toThrow(/table p002: target table public.nowhere does not exist/);
    });
  });
});
