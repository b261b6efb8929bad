import type { Client } from 'pg';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { qi } from '../sql';
import type { BoundRelation, Entry } from './apply';
import { type Cell, UNCHANGED } from './pgoutput';

/*
 * Staging: the coalesced rows of one flush go into each touched table's temp staging table, typed
 * like the source row, plus the applier's columns (_sy_n row number, _sy_op, _sy_ts commit time,
 * _sy_unchanged the columns an UPDATE left out, _sy_count a keyless value's net rows).
 * - up to SMALL_FLUSH_ROWS rows (the usual flush of a live service's changes): ONE parameterized
 *   INSERT for all tables (one round trip; the values travel as parameters, never in statement text);
 * - more: one COPY per table (throughput).
 */

/** A flush of at most this many rows (all tables) is staged with one INSERT instead of a COPY per table. */
export const SMALL_FLUSH_ROWS = 1000;

/** The applier's columns after the row's own, in staging order: name, parameter type (INSERT path), staged type. */
const EXTRA_COLUMNS = [
  { name: '_sy_n', param: 'int', type: 'int' },
  { name: '_sy_op', param: 'text', type: '"char"' },
  { name: '_sy_ts', param: 'text', type: 'timestamptz' },
  { name: '_sy_unchanged', param: 'text', type: 'text[]' },
  { name: '_sy_count', param: 'int', type: 'int' }, // keyless tables only
] as const;

function extraColumns(rel: BoundRelation): readonly (typeof EXTRA_COLUMNS)[number][] {
  return rel.keyless ? EXTRA_COLUMNS : EXTRA_COLUMNS.slice(0, 4);
}

/** The staging table's column list: the row's own, then the applier's. */
function stagingColumns(rel: BoundRelation): string {
  return [...rel.columns.map((c) => qi(c.name)), ...extraColumns(rel).map((c) => c.name)].join(', ');
}

/** One table's share of a flush: its coalesced rows, taken out of its pending map. */
export interface StagedTable {
  readonly rel: BoundRelation;
  readonly rows: ReadonlyMap<string, Entry>;
}

/** One staged row: the cells, then the applier's columns (`unchanged` an array literal or null). */
interface StagedRow {
  readonly cells: readonly Cell[];
  readonly extra: readonly (string | number | null)[];
  readonly partial: boolean;
}

function* stagedRows({ rel, rows }: StagedTable): Generator<StagedRow> {
  const names = rel.columns.map((c) => c.name);
  let n = 0;
  for (const e of rows.values()) {
    if (e.count === 0) continue; // a keyless value added and removed again within the flush
    const unchanged = e.op === 'P' ? names.filter((_c, i) => e.cells[i] === UNCHANGED) : null;
    const literal = unchanged
      ? `{${unchanged.map((c) => `"${c.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`
      : null;
    const extra = [++n, e.op, e.ts, literal, ...(rel.keyless ? [Math.abs(e.count ?? 0)] : [])];
    yield { cells: e.cells, extra, partial: e.op === 'P' };
  }
}

/** Stage every active table's pending rows. True when some carry unchanged TOAST values ('P'). */
export async function stageAll(dst: Client, batch: readonly StagedTable[]): Promise<boolean> {
  const rows = batch.reduce((n, t) => n + t.rows.size, 0);
  if (rows <= SMALL_FLUSH_ROWS) return stageByInsert(dst, batch);
  let partial = false;
  for (const t of batch) partial = (await stageByCopy(dst, t)) || partial;
  return partial;
}

/** All tables in one statement: an INSERT … SELECT FROM unnest(parameters) per table, each in a CTE. */
async function stageByInsert(dst: Client, batch: readonly StagedTable[]): Promise<boolean> {
  const params: (readonly (string | number | null)[])[] = [];
  const ctes: string[] = [];
  let partial = false;
  batch.forEach((table, t) => {
    const rel = table.rel;
    const rows = [...stagedRows(table)];
    partial ||= rows.some((r) => r.partial);
    const width = rel.columns.length;
    const extra = extraColumns(rel);
    const args: string[] = [];
    const select: string[] = [];
    for (let i = 0; i < width + extra.length; i++) {
      params.push(rows.map((r) => (i < width ? cellParam(r.cells[i]) : r.extra[i - width])));
      args.push(`$${params.length}::${i < width ? 'text' : extra[i - width].param}[]`);
      select.push(`u.c${i}::${i < width ? rel.types[i] : extra[i - width].type}`);
    }
    const cols = stagingColumns(rel);
    const alias = select.map((_s, i) => `c${i}`).join(', ');
    ctes.push(
      `s${t} AS (INSERT INTO ${qi(rel.stage)} (${cols}) SELECT ${select.join(', ')} ` +
        `FROM unnest(${args.join(', ')}) AS u(${alias}))`,
    );
  });
  await dst.query(`WITH ${ctes.join(', ')} SELECT 1`, params as unknown[]);
  return partial;
}

/** Rows deleted from a staging table since it was last truncated: a temp table is never vacuumed. */
const deadRows = new WeakMap<BoundRelation, number>();

/**
 * Once this many deleted rows piled up in a staging table it is truncated (new, empty files); until
 * then a flush empties it with DELETE, which leaves the catalog alone, so the apply statements keep
 * their cached plans (a TRUNCATE invalidates them: a few ms per flush of a live service's changes).
 */
const TRUNCATE_AFTER_ROWS = 20_000;

/** The statements that empty the flushed staging tables (after the apply, in the same round trip). */
export function emptyStagingSql(batch: readonly StagedTable[]): string[] {
  const truncate: string[] = [];
  const statements: string[] = [];
  for (const { rel, rows } of batch) {
    const dead = (deadRows.get(rel) ?? 0) + rows.size;
    deadRows.set(rel, dead >= TRUNCATE_AFTER_ROWS ? 0 : dead);
    if (dead >= TRUNCATE_AFTER_ROWS) truncate.push(qi(rel.stage));
    else statements.push(`DELETE FROM ${qi(rel.stage)}`);
  }
  return truncate.length ? [...statements, `TRUNCATE ${truncate.join(', ')}`] : statements;
}

function cellParam(v: Cell): string | null {
  return v === null || v === UNCHANGED ? null : v;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPE: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A value in COPY's text format (most values have nothing to escape: returned as they are). */
export function copyText(v: Cell): string {
  if (v === null || v === UNCHANGED) return '\\N';
  return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIALS, (c) => COPY_ESCAPE[c]) : v;
}

/** COPY one table's coalesced rows (as text) into its staging table. True when some carry unchanged TOAST values. */
async function stageByCopy(dst: Client, table: StagedTable): Promise<boolean> {
  const state = { partial: false };
  const cols = stagingColumns(table.rel);
  const writer = dst.query(copyFrom(`COPY ${qi(table.rel.stage)} (${cols}) FROM STDIN`));
  await pipeline(Readable.from(copyChunks(table, state)), writer);
  return state.partial;
}

/** The COPY text of a table's rows, built as the COPY takes them (copyLines). */
function* copyChunks(table: StagedTable, state: { partial: boolean }): Generator<string> {
  yield* copyLines(stagedRows(table), (r) => {
    state.partial ||= r.partial;
    return [...r.cells.map(copyText), ...r.extra.map((x) => (x === null ? '\\N' : copyText(String(x))))].join('\t');
  });
}

/** COPY text lines of `rows` (`line`: one row's escaped, tab-separated fields), 1000 lines per chunk: never all rows' text at once. */
export function* copyLines<R>(rows: Iterable<R>, line: (row: R) => string): Generator<string> {
  let chunk = '';
  let lines = 0;
  for (const r of rows) {
    chunk += `${line(r)}\n`;
    if (++lines % 1000 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
