import type { Client } from 'pg';
import { DISTRIBUTED_COPY } from '../core/limits';
import { type DbEndpoint, readOnlyQuery, withClient } from './db';
import { SpecError } from './errors';
import { META_SCHEMA } from './prepare';
import { type KeyRange, qi, sourceFrom, type TableLayout, targetTable } from './sql';
import { sourceRelation } from './spec';

/** One planned chunk: a key range of one table, and whether it has been copied. */
export interface Chunk extends KeyRange {
  readonly chunkNo: number;
  readonly copiedRows: number | null;
  /** Planned while the target table was empty: until a first try has started, its range holds no rows and needs no DELETE. */
  readonly fresh: boolean;
  /** Copy tries started for this chunk (by any process). */
  readonly attempts: number;
}

/** Above this many estimated source rows, boundaries come from a page sample instead of a full key scan. */
export const SAMPLED_PLAN_ABOVE_ROWS = 200_000;
/** Sampled keys per planned chunk: chunk sizes land within a few percent of the chunk size. */
const SAMPLE_KEYS_PER_CHUNK = 200;
/**
 * Chunk size when the spec sets none: about this much source heap per chunk, from the table's size and
 * row width (pg_relation_size, pg_class.reltuples/relpages), within CHUNK_ROWS.min..max rows. Per-chunk
 * work (two commits, a plan, a range scan) is then small against the rows; a retried chunk redoes at most
 * a second or two of COPY.
 */
export const CHUNK_BYTES = 16 * 1024 * 1024;
export const CHUNK_ROWS = { min: 10_000, max: 1_000_000, default: 50_000 } as const;

/** What the source catalog says about a table source's size; nulls when unknown (a query, never analyzed). */
export interface SourceSize {
  /** Estimated rows now: reltuples per page of the last ANALYZE/VACUUM times the pages now. */
  readonly rows: number | null;
  readonly bytes: number | null;
}

/** Rows per chunk: the spec's `chunkSize` when set, else CHUNK_BYTES of the table's rows (CHUNK_ROWS.default when unknown). */
export function chunkRows(t: TableLayout['spec'], size: SourceSize): number {
  if (t.chunkSize) return t.chunkSize;
  if (!size.rows || !size.bytes) return CHUNK_ROWS.default;
  const width = size.bytes / size.rows;
  return Math.min(CHUNK_ROWS.max, Math.max(CHUNK_ROWS.min, Math.round(CHUNK_BYTES / width)));
}

/** The sizes of table sources (one catalog read on the source for all); unknown for a query source. */
export async function sourceSizes(src: Client, specs: readonly TableLayout['spec'][]): Promise<SourceSize[]> {
  const rels = specs.map((t) => ('table' in t.source ? qi(sourceRelation(t)!) : null));
  const r = await readOnlyQuery(
    src,
    `SELECT c.reltuples::float8 AS tuples, c.relpages::float8 AS pages, pg_relation_size(c.oid)::float8 AS bytes
       FROM unnest($1::text[]) WITH ORDINALITY AS u(r, i)
       LEFT JOIN pg_class c ON c.oid = to_regclass(u.r) AND c.relkind IN ('r', 'm') ORDER BY u.i`,
    [rels],
  );
  return r.rows.map((row) => {
    if (row.bytes === null) return { rows: null, bytes: null };
    const bytes = Number(row.bytes);
    const tuples = Number(row.tuples);
    const pages = Number(row.pages);
    if (tuples < 0) return { rows: null, bytes };
    if (pages > 0) return { rows: Math.round((tuples / pages) * Math.ceil(bytes / 8192)), bytes };
    return { rows: bytes === 0 ? 0 : null, bytes };
  });
}

/**
 * The key-range chunks of a table for a run. The first call cuts the source's
 * key order every `chunkRows` rows and stores the plan in the target's
 * bookkeeping schema; later calls (a resume, a validation) return the stored plan,
 * so chunk boundaries never move under a running migration.
 *
 * A table source estimated to fit one chunk (the catalog's estimate, scaled to the table's size now)
 * is one chunk over the whole key range: no key scan at all. Exact cuts need a full scan of the key
 * (row_number over the key order: 0.4–0.9 s per million rows). A table source estimated above
 * SAMPLED_PLAN_ABOVE_ROWS and two chunks is cut from a `TABLESAMPLE SYSTEM` page sample instead
 * (SAMPLE_KEYS_PER_CHUNK keys per chunk), so chunks hold about `chunkRows` rows; ranges still cover
 * every key, so nothing is missed whatever the estimate.
 */
export async function planChunks(layout: TableLayout, src: Client, tgt: Client, runId: string): Promise<Chunk[]> {
  const table = layout.spec.name;
  const existing = await loadPlan(tgt, runId, table);
  if (existing.length) return existing;

  const t = layout.spec;
  const [size] = await sourceSizes(src, [t]);
  const rows = chunkRows(t, size);
  const estimate = size.rows ?? -1;
  let bounds: (string[] | null)[] = [null, null];
  // A keyless table is one chunk: its rows have no order to cut (duplicates, NULLs, types without btree order).
  if (!t.keyless && (estimate < 0 || estimate > rows)) {
    const keys = t.key.map((k) => `s.${qi(k)}`);
    const keyText = t.key.map((_k, i) => `x.k${i}::text`);
    const sampled = estimate > SAMPLED_PLAN_ABOVE_ROWS && estimate > 2 * rows;
    const percent = sampled ? Math.min(100, (100 * SAMPLE_KEYS_PER_CHUNK) / rows) : 100;
    const every = sampled ? Math.max(1, Math.round((rows * percent) / 100)) : rows;
    const from = sampled ? `${sourceFrom(t)} TABLESAMPLE SYSTEM (${percent}) REPEATABLE (0)` : sourceFrom(t);
    const boundaries = await readOnlyQuery(
      src,
      `SELECT ARRAY[${keyText.join(', ')}] AS b FROM (
             SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(', ')}, row_number() OVER (ORDER BY ${keys.join(', ')}) AS rn FROM ${from}
           ) x WHERE x.rn > 1 AND (x.rn - 1) % ${every} = 0 ORDER BY x.rn`,
    );
    bounds = [null, ...boundaries.rows.map((r) => r.b as string[]), null];
  }
  const chunks = bounds.slice(0, -1).map((lower, i) => ({ n: i, l: lower, u: bounds[i + 1] }));
  await storePlan(tgt, runId, [{ layout, chunks }]);
  return loadPlan(tgt, runId, table);
}

const keyArray = (f: string) =>
  `CASE WHEN jsonb_typeof(x->'${f}') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(x->'${f}')) END`;

/**
 * Store planned chunks of one or more tables in one statement. Concurrent planners (a retried task)
 * agree: the first insert wins, the second reads it back. An empty target table makes every chunk
 * fresh: its first try can skip the DELETE of its range.
 */
export async function storePlan(
  tgt: Client,
  runId: string,
  plans: readonly { layout: TableLayout; chunks: { n: number; l: string[] | null; u: string[] | null }[] }[],
): Promise<void> {
  const empty = plans.map((p, i) => `WHEN ${i} THEN NOT EXISTS (SELECT 1 FROM ${targetTable(p.layout)})`);
  const items = plans.flatMap((p, i) => p.chunks.map((c) => ({ ...c, t: i, name: p.layout.spec.name })));
  await tgt.query(
    `INSERT INTO ${META_SCHEMA}.copy_chunks (run_id, table_name, chunk_no, lower_key, upper_key, fresh)
     SELECT $1, x->>'name', (x->>'n')::int, ${keyArray('l')}, ${keyArray('u')}, CASE (x->>'t')::int ${empty.join(' ')} END
       FROM jsonb_array_elements($2::jsonb) AS x
     ON CONFLICT DO NOTHING`,
    [runId, JSON.stringify(items)],
  );
}

/** {@link planChunks} on its own connections: a read-only one to the source, one to the target. */
export async function planTableChunks(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  runId: string,
): Promise<Chunk[]> {
  return withClient(source, { readOnly: true }, (src) =>
    withClient(target, {}, (tgt) => planChunks(layout, src, tgt, runId)),
  );
}

/** One item of a distributed copy: the chunks `from`..`to` (inclusive) of one table. */
export interface ChunkGroup {
  readonly table: string;
  readonly from: number;
  readonly to: number;
}

export interface ChunkGroupOptions {
  /** Chunks per group; enlarged when the list would exceed `maxItems` or `maxItemsBytes`. */
  readonly chunksPerItem: number;
  /** @default DISTRIBUTED_COPY.maxItems */
  readonly maxItems?: number;
  /** Longest JSON of the item list. @default DISTRIBUTED_COPY.maxItemsBytes */
  readonly maxItemsBytes?: number;
}

export interface ChunkGroups {
  /** The group size used: `chunksPerItem`, or larger to keep the list within its bounds. */
  readonly chunksPerItem: number;
  /** Groups with at least one chunk still to copy, tables in the order given. */
  readonly items: ChunkGroup[];
  /** Groups whose chunks are all copied already (a resumed run): left out of `items`. */
  readonly alreadyCopied: number;
}

/**
 * Cut each table's planned chunks into groups of `chunksPerItem` consecutive chunks. The same plan
 * and size always give the same groups (the plan's boundaries are stored, so a resumed run gets
 * them again); fully copied groups are left out. The list travels in the execution state, so
 * groups grow until it holds at most `maxItems` items and `maxItemsBytes` of JSON (SpecError when
 * one group per table is still too much: more tables, or longer names, than a state can carry).
 */
export function groupChunks(
  tables: readonly { readonly table: string; readonly chunks: readonly Chunk[] }[],
  opts: ChunkGroupOptions,
): ChunkGroups {
  const maxItems = opts.maxItems ?? DISTRIBUTED_COPY.maxItems;
  const maxBytes = opts.maxItemsBytes ?? DISTRIBUTED_COPY.maxItemsBytes;
  const cut = (size: number) =>
    tables.flatMap(({ table, chunks }) =>
      Array.from({ length: Math.ceil(chunks.length / size) }, (_x, i) => {
        const group = chunks.slice(i * size, (i + 1) * size);
        return {
          item: { table, from: group[0].chunkNo, to: group[group.length - 1].chunkNo },
          copied: group.every((c) => c.copiedRows !== null),
        };
      }),
    );
  const bytes = (groups: ReturnType<typeof cut>) => Buffer.byteLength(JSON.stringify(groups.map((g) => g.item)));
  const fits = (groups: ReturnType<typeof cut>) => groups.length <= maxItems && bytes(groups) <= maxBytes;
  const largest = Math.max(1, ...tables.map((t) => t.chunks.length));
  let size = Math.max(1, opts.chunksPerItem);
  let groups = cut(size);
  while (!fits(groups) && size < largest) {
    // Grow in proportion to the excess, up to one table's whole plan in one group.
    const excess = Math.max(groups.length / maxItems, bytes(groups) / maxBytes);
    size = Math.min(largest, Math.max(size + 1, Math.ceil(size * excess)));
    groups = cut(size);
  }
  if (!fits(groups)) {
    throw new SpecError(
      `a distributed copy of ${tables.length} tables needs ${groups.length} items even at one per table: more ` +
        `than the ${maxItems} items / ${Math.round(maxBytes / 1024)} KiB of JSON an execution state may carry`,
    );
  }
  return {
    chunksPerItem: size,
    items: groups.filter((g) => !g.copied).map((g) => g.item),
    alreadyCopied: groups.filter((g) => g.copied).length,
  };
}

/** The chunks of a chunk group (`from`..`to` inclusive), or all of them. */
export function selectChunks(plan: Chunk[], chunkNos?: { readonly from: number; readonly to: number }): Chunk[] {
  return chunkNos ? plan.filter((c) => c.chunkNo >= chunkNos.from && c.chunkNo <= chunkNos.to) : plan;
}

export async function loadPlan(tgt: Client, runId: string, table: string): Promise<Chunk[]> {
  const r = await tgt.query(
    `SELECT chunk_no, lower_key, upper_key, copied_rows, fresh, attempts FROM ${META_SCHEMA}.copy_chunks WHERE ` +
      `run_id = $1 AND table_name = $2 ORDER BY chunk_no`,
    [runId, table],
  );
  return r.rows.map((row) => ({
    chunkNo: row.chunk_no as number,
    lower: row.lower_key as string[] | null,
    upper: row.upper_key as string[] | null,
    copiedRows: row.copied_rows === null ? null : Number(row.copied_rows),
    fresh: row.fresh as boolean,
    attempts: row.attempts as number,
  }));
}
