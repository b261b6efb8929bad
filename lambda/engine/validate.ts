import type { Client } from 'pg';
import { connect, type DbEndpoint, readOnlyQuery, withClient } from './db';
import { type Chunk, planChunks, selectChunks } from './plan';
import {
  checksumSql,
  type KeyRange,
  keyColumnExprs,
  qi,
  rangePredicate,
  sourceCompareSelect,
  sourceFrom,
  type TableLayout,
  targetSelect,
  targetTable,
} from './sql';
import { targetKey } from './spec';

/** Count and order-independent 64-bit hash sum (as a decimal string) of a row set. */
export interface Checksum {
  readonly rows: number;
  readonly hash: string;
}

export interface KeyDifferences {
  /** Keys in the source but not the target. */
  readonly missing: string[][];
  /** Keys in the target but not the source. */
  readonly extra: string[][];
  /** Keys on both sides whose projected rows differ. */
  readonly changed: string[][];
  /** True when more differing keys exist than were listed. */
  readonly truncated: boolean;
}

export interface TableValidation {
  readonly table: string;
  readonly source: Checksum;
  readonly target: Checksum;
  readonly chunks: number;
  readonly mismatchedChunks: number[];
  readonly match: boolean;
  readonly differences: KeyDifferences;
}

export interface ValidateOptions {
  readonly runId: string;
  /** Ranges checksummed at once (each on both sides). @default 1 */
  readonly concurrency?: number;
  /** Only these chunk numbers (a chunk group of a Map iteration). @default - all chunks */
  readonly chunkNos?: { readonly from: number; readonly to: number };
  /** Most differing keys listed per table. @default 100 */
  readonly maxKeys?: number;
  /** Bisect until a range holds at most this many rows, then compare row hashes. @default 256 */
  readonly leafRows?: number;
}

/** Every read runs in its own `BEGIN READ ONLY` transaction (the target's too: validation never writes rows). */
async function checksum(c: Client, rowsSql: string): Promise<Checksum> {
  const r = await readOnlyQuery(c, checksumSql(rowsSql));
  return { rows: Number(r.rows[0].rows), hash: r.rows[0].hash as string };
}

const sumHashes = (parts: Checksum[]): Checksum => ({
  rows: parts.reduce((n, p) => n + p.rows, 0),
  hash: parts.reduce((h, p) => h + BigInt(p.hash), 0n).toString(),
});

/**
 * Compare a table on both sides chunk by chunk: count plus hash sum of the
 * canonical text of every projected row, computed inside each database. The source
 * side hashes the spec's expressions *before* any cast to a narrower target type (see
 * `sourceCompareSelect`), so a truncated or rounded value shows as a mismatch. A mismatched chunk is bisected down to the differing keys.
 * Reads only: no row of either side is written (a missing chunk plan is stored in the
 * target's bookkeeping schema, as the copy would).
 */
export async function validateTable(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: ValidateOptions,
): Promise<TableValidation> {
  const pairs: { src: Client; tgt: Client }[] = [];
  const open = async () => {
    const pair = {
      src: await connect(source, { readOnly: true, applicationName: 'switchyard-validate' }),
      tgt: await connect(target, { readOnly: true, applicationName: 'switchyard-validate' }),
    };
    pairs.push(pair);
    return pair;
  };
  try {
    const first = await open();
    const fullPlan = await withClient(target, { applicationName: 'switchyard-validate' }, (tgt) =>
      planChunks(layout, first.src, tgt, opts.runId),
    );
    const plan = selectChunks(fullPlan, opts.chunkNos);
    // Checksum contiguous groups of chunks (one per worker): as fast as a whole-table scan when
    // everything matches; only a mismatched group is re-checked chunk by chunk, then bisected.
    const n = Math.max(1, Math.min(opts.concurrency ?? 1, plan.length));
    const groups = Array.from({ length: n }, (_, g) =>
      plan.slice(Math.floor((g * plan.length) / n), Math.floor(((g + 1) * plan.length) / n)),
    ).filter((g) => g.length);
    const results: { chunk: Chunk; s: Checksum; t: Checksum }[] = [];
    const groupSums: { s: Checksum; t: Checksum }[] = [];
    const sides = (pair: { src: Client; tgt: Client }, range: KeyRange) =>
      Promise.all([
        checksum(pair.src, sourceCompareSelect(layout, range)),
        checksum(pair.tgt, targetSelect(layout, range)),
      ]);
    const worker = async (pair: { src: Client; tgt: Client }, group: Chunk[]) => {
      const [s, t] = await sides(pair, { lower: group[0].lower, upper: group[group.length - 1].upper });
      groupSums.push({ s, t });
      if (s.rows === t.rows && s.hash === t.hash) return;
      for (const chunk of group) {
        const [cs, ct] = await sides(pair, chunk);
        results.push({ chunk, s: cs, t: ct });
      }
    };
    const workers = [first, ...(await Promise.all(Array.from({ length: groups.length - 1 }, open)))];
    await Promise.all(groups.map((g, i) => worker(workers[i], g)));

    const bad = results
      .filter((r) => r.s.rows !== r.t.rows || r.s.hash !== r.t.hash)
      .sort((a, b) => a.chunk.chunkNo - b.chunk.chunkNo);
    const diffs: KeyDifferences = { missing: [], extra: [], changed: [], truncated: false };
    const budget = { left: opts.maxKeys ?? 100 };
    // A keyless table's "key" is the whole row: its differences are counted, never listed (no values in results).
    for (const r of layout.spec.keyless ? [] : bad)
      await bisect(layout, first, r.chunk, r.s, r.t, diffs, budget, opts.leafRows ?? 256);
    const src = sumHashes(groupSums.map((r) => r.s));
    const tgt = sumHashes(groupSums.map((r) => r.t));
    return {
      table: layout.spec.name,
      source: src,
      target: tgt,
      chunks: plan.length,
      mismatchedChunks: bad.map((r) => r.chunk.chunkNo),
      match: bad.length === 0,
      differences: diffs,
    };
  } finally {
    await Promise.all(pairs.flatMap((p) => [p.src.end().catch(() => undefined), p.tgt.end().catch(() => undefined)]));
  }
}

/** The key at position `offset` in key order within `range` on one side. */
async function keyAt(
  c: Client,
  layout: TableLayout,
  side: 'source' | 'target',
  range: KeyRange,
  offset: number,
): Promise<string[] | null> {
  const t = layout.spec;
  const [cols, types, from, alias, collations] =
    side === 'source'
      ? [t.key, layout.sourceKeyTypes, sourceFrom(t), 's', undefined]
      : [targetKey(t), layout.targetKeyTypes, `${targetTable(layout)} AS t`, 't', layout.targetKeyCollations];
  const keys = cols.map((k) => `${alias}.${qi(k)}`);
  const r = await readOnlyQuery(
    c,
    `SELECT ARRAY[${keys.map((k) => `${k}::text`).join(', ')}] AS k FROM ${from} WHERE ` +
      `${rangePredicate(cols, types, alias, range, collations)} ORDER BY ` +
      `${keyColumnExprs(cols, alias, collations).join(', ')} OFFSET ${offset} LIMIT 1`,
  );
  return r.rowCount ? (r.rows[0].k as string[]) : null;
}

/** Key text and row hash of every row in `range`. */
async function rowHashes(c: Client, rowsSql: string, keyColumns: readonly string[]): Promise<Map<string, string>> {
  const keyExprs = keyColumns.map((k) => `r.${qi(k)}::text`);
  const r = await readOnlyQuery(
    c,
    `SELECT ARRAY[${keyExprs.join(', ')}] AS k, hashtextextended(r::text, 0)::text AS h FROM (${rowsSql}) AS r`,
  );
  return new Map(r.rows.map((row) => [JSON.stringify(row.k), row.h as string]));
}

async function bisect(
  layout: TableLayout,
  pair: { src: Client; tgt: Client },
  range: KeyRange,
  s: Checksum,
  t: Checksum,
  diffs: KeyDifferences,
  budget: { left: number },
  leafRows: number,
): Promise<void> {
  if (budget.left <= 0) {
    (diffs as { truncated: boolean }).truncated = true;
    return;
  }
  if (s.rows === t.rows && s.hash === t.hash) return;
  const larger = s.rows >= t.rows ? 'source' : 'target';
  const n = Math.max(s.rows, t.rows);
  const mid =
    n > leafRows
      ? await keyAt(larger === 'source' ? pair.src : pair.tgt, layout, larger, range, Math.floor(n / 2))
      : null;
  if (!mid) {
    const keyCols = targetKey(layout.spec); // both selects name their columns after the target
    const [a, b] = await Promise.all([
      rowHashes(pair.src, sourceCompareSelect(layout, range), keyCols),
      rowHashes(pair.tgt, targetSelect(layout, range), keyCols),
    ]);
    const push = (list: string[][], k: string) => {
      if (budget.left <= 0) {
        (diffs as { truncated: boolean }).truncated = true;
        return;
      }
      list.push(JSON.parse(k) as string[]);
      budget.left--;
    };
    for (const [k, h] of a) {
      const other = b.get(k);
      if (other === undefined) push(diffs.missing, k);
      else if (other !== h) push(diffs.changed, k);
    }
    for (const k of b.keys()) if (!a.has(k)) push(diffs.extra, k);
    return;
  }
  for (const half of [
    { lower: range.lower, upper: mid },
    { lower: mid, upper: range.upper },
  ]) {
    const [hs, ht] = await Promise.all([
      checksum(pair.src, sourceCompareSelect(layout, half)),
      checksum(pair.tgt, targetSelect(layout, half)),
    ]);
    await bisect(layout, pair, half, hs, ht, diffs, budget, leafRows);
  }
}
