/**
 * Describing tables: the column types of both sides (the source's from a `LIMIT 0` describe of the
 * copy's own projection), key types and key collations — what projections, key literals and the
 * lossy checks are built from. `describeTables` does many tables in a few round trips.
 */
import type { Client } from 'pg';
import { alignCollations, manyEffectiveCollations, targetKeyCollations } from './collation';
import { connect, type DbEndpoint, readOnly, withClient } from './db';
import { SchemaMismatchError } from './errors';
import { narrowing, type PgType } from './lossy';
import { assertSafeSql, sourceRelation, type TableSpec, targetColumns, targetKey, targetRelation } from './spec';
import { type ColumnLayout, qi, rawExprs, sourceFrom, type TableLayout } from './sql';

/** Resolve (type oid, modifier) pairs on one side: domains to their base type, arrays to their element. */
export async function resolveTypes(
  c: Client,
  oids: number[],
  mods: number[],
  readOnlySide: boolean,
): Promise<(PgType & { builtin: boolean; baseNoMod: string; qualified: string; plain: string })[]> {
  const sql = `
    WITH u AS (SELECT * FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(o, m, i)),
         b AS (SELECT u.i, u.o, u.m, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE u.o END AS bo,
                      CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE u.m END AS bm
                 FROM u JOIN pg_type t ON t.oid = u.o)
    SELECT format_type(b.o, nullif(b.m, -1)) AS display, format_type(b.bo, NULL) AS base_no_mod, b.bm AS typmod,
           format_type(b.o, NULL) AS plain,
           CASE WHEN bt.typcategory = 'A' THEN et.typname ELSE bt.typname END AS name, bt.typcategory = 'A' AS array,
           n.nspname = 'pg_catalog' AS builtin,
           CASE WHEN ot.typcategory = 'A' THEN format('%I.%I[]', oen.nspname, oet.typname) ELSE format('%I.%I', otn.nspname, ot.typname) END AS qualified
      FROM b JOIN pg_type bt ON bt.oid = b.bo LEFT JOIN pg_type et ON et.oid = bt.typelem JOIN pg_namespace n ON n.oid = bt.typnamespace
      JOIN pg_type ot ON ot.oid = b.o JOIN pg_namespace otn ON otn.oid = ot.typnamespace
      LEFT JOIN pg_type oet ON oet.oid = ot.typelem LEFT JOIN pg_namespace oen ON oen.oid = oet.typnamespace
     ORDER BY b.i`;
  // A named (prepared) statement: planned once per connection, not once per table.
  const q = { name: 'switchyard_resolve_types', text: sql, values: [oids, mods] };
  const r = readOnlySide ? await readOnly(c, () => c.query(q)) : await c.query(q);
  return r.rows.map((row) => ({
    display: row.display,
    name: row.name,
    typmod: Number(row.typmod),
    array: row.array,
    builtin: row.builtin,
    baseNoMod: row.base_no_mod,
    qualified: row.qualified,
    plain: row.plain,
  }));
}

/** The target table's columns, in copy order, with their resolved types. Throws SchemaMismatchError on a missing column. */
async function targetColumnTypes(tgt: Client, t: TableSpec, names: readonly string[]) {
  const rel = targetRelation(t);
  const tcols = await tgt.query(
    `SELECT a.attname AS name, a.atttypid AS oid, a.atttypmod AS mod FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [qi(rel)],
  );
  const byName = new Map(tcols.rows.map((r) => [r.name as string, r as { oid: number; mod: number }]));
  for (const name of names)
    if (!byName.has(name)) throw new SchemaMismatchError(`table ${t.name}: target table ${rel} has no column ${name}`);
  return resolveTypes(
    tgt,
    names.map((n) => byName.get(n)!.oid),
    names.map((n) => byName.get(n)!.mod),
    false,
  );
}

/**
 * Column types of both sides (the source's from a `LIMIT 0` describe of the projection), needed to
 * build projections, key literals and lossy checks. The source's queries share one read-only
 * transaction and run beside the target's: a schema of many tables pays a few round trips a table.
 */
export async function describeTable(t: TableSpec, src: Client, tgt: Client): Promise<TableLayout> {
  assertSafeSql({ name: `table ${t.name}`, tables: [t] });
  const names = targetColumns(t);
  // The projection's declared types, as the source reports them for the copy's own SELECT.
  const partial = { spec: t, columns: names.map((name) => ({ name })) } as unknown as TableLayout;
  const exprs = rawExprs(partial);
  const [targetTypes, sourceSide] = await bothSettled([
    targetColumnTypes(tgt, t, names),
    readOnly(src, async () => {
      const described = await src.query(
        `SELECT ${exprs.map((e, i) => `(${e}) AS c${i}`).join(', ')} FROM ${sourceFrom(t)} LIMIT 0`,
      );
      const types = await resolveTypes(
        src,
        described.fields.map((f) => f.dataTypeID),
        described.fields.map((f) => f.dataTypeModifier),
        false,
      );
      const keys = await targetKeyCollations(
        src,
        tgt,
        {
          name: t.name,
          sourceRelation: sourceRelation(t),
          sourceKey: t.key,
          targetRelation: targetRelation(t),
          targetKey: targetKey(t),
        },
        { sourceInReadOnly: true },
      );
      return { types, keys };
    }),
  ]);
  return tableLayout(t, names, targetTypes, sourceSide.types, sourceSide.keys);
}

/** Resolved types of one column (resolveTypes). */
export type ResolvedType = Awaited<ReturnType<typeof resolveTypes>>[number];

/** A table's layout from its target columns' and the source projection's resolved types and key collations. */
export function tableLayout(
  t: TableSpec,
  names: readonly string[],
  targetTypes: readonly ResolvedType[],
  sourceTypes: readonly ResolvedType[],
  keys: { collations: (string | null)[]; warnings: string[] },
): TableLayout {
  const { collations, warnings } = keys;
  const columns: ColumnLayout[] = names.map((name, i) => {
    const tt = targetTypes[i];
    const st = sourceTypes[i];
    return {
      name,
      castType: tt.builtin ? tt.display : 'text',
      ...(tt.builtin ? {} : { targetCast: tt.qualified }),
      compareAsText: !tt.builtin,
      sourceType: st,
      targetType: tt,
      narrowing: narrowing(st, tt),
      sourceBaseType: st.builtin ? st.baseNoMod : null,
    };
  });
  return {
    spec: t,
    columns,
    // Key columns come first in the projection, as `s.<key>`: their declared types, without modifier.
    sourceKeyTypes: t.key.map((_k, i) => sourceTypes[i].plain),
    targetKeyTypes: targetKey(t).map((k) => columns.find((c) => c.name === k)!.targetType.display),
    ...(collations.some((c) => c !== null) ? { targetKeyCollations: collations } : {}),
    ...(warnings.length ? { keyCollationWarnings: warnings } : {}),
  };
}

/** Describe a table opening short-lived connections (for callers without open clients). */
export async function describeTableWith(t: TableSpec, source: DbEndpoint, target: DbEndpoint): Promise<TableLayout> {
  const src = await connect(source, { readOnly: true });
  try {
    return await withClient(target, {}, (tgt) => describeTable(t, src, tgt));
  } finally {
    await src.end().catch(() => undefined);
  }
}

/** Projections described per round trip (one multi-statement query of `LIMIT 0` SELECTs). */
const DESCRIBES_PER_QUERY = 250;

/**
 * Describe many tables as `describeTable` does each, in a few round trips whatever their number:
 * the target's columns of every table in one catalog query, the source projections' `LIMIT 0`
 * describes several hundred per query (one read-only transaction), each side's types resolved in one
 * query, each side's key collations in one. Anything that fails (a projection the source cannot run, a
 * missing target column) is described again table by table, so the error is the one `describeTable`
 * gives, naming its table. In the order given.
 */
export async function describeTables(tables: readonly TableSpec[], src: Client, tgt: Client): Promise<TableLayout[]> {
  if (tables.length < 2) return Promise.all(tables.map((t) => describeTable(t, src, tgt)));
  for (const t of tables) assertSafeSql({ name: `table ${t.name}`, tables: [t] });
  const names = tables.map((t) => targetColumns(t));
  try {
    const [targetTypes, source] = await bothSettled([
      manyTargetColumnTypes(tgt, tables, names),
      readOnly(src, async () => {
        const types = await sourceTypes(src, tables, names);
        const keys = await manyEffectiveCollations(
          src,
          tables.map((t) => ({ relation: sourceRelation(t) ?? '', columns: sourceRelation(t) ? t.key : [] })),
        );
        return { types, keys };
      }),
    ]);
    const targetKeys = await manyEffectiveCollations(
      tgt,
      tables.map((t) => ({ relation: targetRelation(t), columns: sourceRelation(t) ? targetKey(t) : [] })),
    );
    const out: TableLayout[] = [];
    for (const [i, t] of tables.entries()) {
      const keys = sourceRelation(t)
        ? await alignCollations(tgt, keyTable(t), source.keys[i], targetKeys[i])
        : { collations: targetKey(t).map(() => null), warnings: [] };
      out.push(tableLayout(t, names[i], targetTypes[i], source.types[i], keys));
    }
    return out;
  } catch (e) {
    if (!(e instanceof SchemaMismatchError) && !(e as { code?: string }).code) throw e;
    // One of the tables is wrong: describe them one by one for the error that names it.
    const out: TableLayout[] = [];
    for (const t of tables) out.push(await describeTable(t, src, tgt));
    return out;
  }
}

const keyTable = (t: TableSpec) => ({
  name: t.name,
  sourceRelation: sourceRelation(t),
  sourceKey: t.key,
  targetRelation: targetRelation(t),
  targetKey: targetKey(t),
});

/** Every target table's columns `names[i]`, in that order, resolved; a missing one throws SchemaMismatchError. */
async function manyTargetColumnTypes(
  tgt: Client,
  tables: readonly TableSpec[],
  names: readonly string[][],
): Promise<ResolvedType[][]> {
  const r = await tgt.query(
    `SELECT r.i::int - 1 AS t, a.attname AS name, a.atttypid AS oid, a.atttypmod AS mod
       FROM unnest($1::text[]) WITH ORDINALITY AS r(rel, i)
       JOIN pg_attribute a ON a.attrelid = to_regclass(r.rel) AND a.attnum > 0 AND NOT a.attisdropped`,
    [tables.map((t) => qi(targetRelation(t)))],
  );
  const byTable = tables.map(() => new Map<string, { oid: number; mod: number }>());
  for (const row of r.rows) byTable[row.t as number].set(row.name as string, { oid: row.oid, mod: row.mod });
  const flat = tables.flatMap((t, i) =>
    names[i].map((name) => {
      const col = byTable[i].get(name);
      if (!col)
        throw new SchemaMismatchError(`table ${t.name}: target table ${targetRelation(t)} has no column ${name}`);
      return col;
    }),
  );
  const types = await resolveTypes(
    tgt,
    flat.map((c) => c.oid),
    flat.map((c) => c.mod),
    false,
  );
  return split(types, names);
}

/** The source projections' declared types (`LIMIT 0` describes, many per query), resolved; in the caller's read-only transaction. */
async function sourceTypes(
  src: Client,
  tables: readonly TableSpec[],
  names: readonly string[][],
): Promise<ResolvedType[][]> {
  const selects = tables.map((t, i) => {
    const exprs = rawExprs({ spec: t, columns: names[i].map((name) => ({ name })) } as unknown as TableLayout);
    return `SELECT ${exprs.map((e, n) => `(${e}) AS c${n}`).join(', ')} FROM ${sourceFrom(t)} LIMIT 0`;
  });
  const fields: { dataTypeID: number; dataTypeModifier: number }[][] = [];
  for (let i = 0; i < selects.length; i += DESCRIBES_PER_QUERY) {
    const part = selects.slice(i, i + DESCRIBES_PER_QUERY);
    // Several statements in one simple query: one result (with its row description) per statement.
    const r = (await src.query(part.join(';\n'))) as unknown as
      | { fields: (typeof fields)[number] }[]
      | { fields: (typeof fields)[number] };
    for (const one of Array.isArray(r) ? r : [r]) fields.push(one.fields);
  }
  if (fields.length !== tables.length)
    throw new Error(`described ${fields.length} projections for ${tables.length} tables`);
  const flat = fields.flat();
  const types = await resolveTypes(
    src,
    flat.map((f) => f.dataTypeID),
    flat.map((f) => f.dataTypeModifier),
    false,
  );
  return split(
    types,
    fields.map((f) => f.map(() => '')),
  );
}

/** Cut a flat list into consecutive parts as long as `shape`'s. */
function split<T>(flat: readonly T[], shape: readonly (readonly unknown[])[]): T[][] {
  let at = 0;
  return shape.map((s) => {
    const part = flat.slice(at, at + s.length);
    at += s.length;
    return part;
  });
}

/** Tables per connection pair in `describeTablesWith`. */
const TABLES_PER_PAIR = 500;

/**
 * Describe several tables opening their own connections: with `describeTables`, up to 500 tables per
 * source+target pair, on at most `concurrency` pairs at once (default 2). In the order given.
 */
export async function describeTablesWith(
  tables: readonly TableSpec[],
  source: DbEndpoint,
  target: DbEndpoint,
  opts: { concurrency?: number } = {},
): Promise<TableLayout[]> {
  const parts: (readonly TableSpec[])[] = [];
  for (let i = 0; i < tables.length; i += TABLES_PER_PAIR) parts.push(tables.slice(i, i + TABLES_PER_PAIR));
  const out: TableLayout[][] = new Array(parts.length);
  let next = 0;
  const worker = () =>
    withClient(source, { readOnly: true }, (src) =>
      withClient(target, {}, async (tgt) => {
        for (let i = next++; i < parts.length; i = next++) out[i] = await describeTables(parts[i], src, tgt);
      }),
    );
  const n = Math.max(1, Math.min(opts.concurrency ?? 2, parts.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out.flat();
}

/**
 * Both sides' results, like Promise.all, but a failure of one is thrown only once the other settled
 * too: the one-by-one describe after a failure must not queue queries behind a connection's
 * statement still running.
 */
async function bothSettled<A, B>(p: readonly [Promise<A>, Promise<B>]): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled(p);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}
