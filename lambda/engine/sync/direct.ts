import type { Client } from 'pg';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { targetKey, targetRelation } from '../spec';
import { qi, ql, rawExprs } from '../sql';
import type { BoundRelation, Entry } from './apply';
import type { Cell } from './pgoutput';
import { describe, sqlState } from '../errors';
import { SyncApplyError } from './errors';
import { copyLines, copyText, type StagedTable } from './staging';

/*
 * Direct writes: a flush of new rows (a background flush of a large source transaction, or any flush
 * of at least DIRECT_MIN_ROWS rows) is COPYed straight into the destination
 * tables, as the copy writes them: no staging table and no upsert (ON CONFLICT's speculative insertion is
 * a third of the upsert). Only
 * - for a table whose spec writes every target column from the source column of the same type unchanged
 *   (no expression, no cast, not keyless: the COPY text is the source's text as it came),
 * - for a flush whose every row is an insert ('I'), and
 * - when none of the flush's keys is in the destination yet (one probe per table first; a catch-up
 *   replaying rows the copy already has, or a key deleted and inserted again, goes through the upsert),
 *   and the table takes COPY (a plain or partitioned table without row-level security for the login).
 * A row of the same key committed on the destination between the probe and the COPY fails the COPY
 * (unique violation): the apply transaction rolls back and the slot does not move, so the next run
 * applies the transaction again (its probe then finds the key). Nothing is lost.
 *
 * Foreign keys: where the login may set `session_replication_role` (a superuser; on 15+ a login granted
 * `SET ON PARAMETER session_replication_role`), a table whose only INSERT triggers are foreign-key checks
 * is COPYed with `session_replication_role = replica` for that statement, as PostgreSQL's own apply
 * worker writes: the rows are checked on the source, and 500,000 deferred per-row checks otherwise take
 * seconds at COMMIT. A table with any other enabled INSERT trigger (the user's, a deferrable unique
 * constraint's recheck) keeps them, so what fires is what fires on the upsert path. Conflicts are off on
 * this path: nothing but the sync writes the destination tables (before the traffic shift).
 */

/**
 * A flush outside a large transaction's background writes goes direct from this many rows: the
 * probe costs a round trip per table, small next to the upsert it saves only on large flushes
 * (a batch of many insert-only transactions, the first and last flush of a large transaction).
 */
export const DIRECT_MIN_ROWS = 10_000;

/** How one table's rows are written directly: the target's columns, each from a source cell. */
export interface DirectPlan {
  /** The target columns, quoted, in COPY order. */
  readonly columns: string;
  /** Index of each target column's source cell. */
  readonly cells: readonly number[];
  /** Indexes (into `cells`) of the target key columns, and their types, for the probe. */
  readonly key: readonly { readonly at: number; readonly type: string; readonly name: string }[];
}

const BARE_COLUMN = /^\s*s\s*\.\s*(?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$]*))\s*$/i;

const plans = new WeakMap<BoundRelation, DirectPlan | null>();

/** The relation's direct plan, or null when its rows must go through staging (an expression, a cast, keyless). */
export function directPlan(rel: BoundRelation): DirectPlan | null {
  if (!plans.has(rel)) plans.set(rel, planOf(rel));
  return plans.get(rel) ?? null;
}

function planOf(rel: BoundRelation): DirectPlan | null {
  if (rel.keyless) return null;
  const layout = rel.table.layout;
  const names = rel.columns.map((c) => c.name);
  const cells: number[] = [];
  const exprs = rawExprs(layout);
  for (const [i, c] of layout.columns.entries()) {
    const m = BARE_COLUMN.exec(exprs[i]);
    const source = m ? (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2].toLowerCase()) : null;
    const at = source === null ? -1 : names.indexOf(source);
    const same = c.sourceType.display === c.targetType.display && !c.compareAsText && !c.targetCast;
    if (at < 0 || !same || rel.types[at] !== c.targetType.display) return null;
    cells.push(at);
  }
  const targetNames = layout.columns.map((c) => c.name);
  const key = targetKey(layout.spec).map((name) => {
    const at = targetNames.indexOf(name);
    return { at, type: layout.columns[at]?.castType, name };
  });
  if (key.some((k) => k.at < 0)) return null;
  return { columns: targetNames.map(qi).join(', '), cells, key };
}

/** Can this flush be written directly? Every table has a plan and every row is an insert. */
export function directEligible(batch: readonly StagedTable[]): boolean {
  return batch.every((t) => directPlan(t.rel) !== null && everyInsert(t.rows));
}

function everyInsert(rows: ReadonlyMap<string, Entry>): boolean {
  for (const e of rows.values()) if (e.op !== 'I') return false;
  return true;
}

/**
 * Write the flush directly: probe every table (directProbe), then COPY each table's rows (parents
 * first: the batch's order). False, with nothing written, when some key is in the destination already.
 * `replicaRole`: the login may set session_replication_role (the destination's capabilities).
 */
export async function writeDirect(dst: Client, batch: readonly StagedTable[], replicaRole: boolean): Promise<boolean> {
  const probes: Probe[] = [];
  for (const t of batch) {
    const p = await directProbe(dst, t);
    if (!p.copyable) return false;
    probes.push(p);
  }
  let asReplica = false;
  for (const [i, t] of batch.entries()) {
    const want = replicaRole && probes[i].onlyKeyChecks;
    if (want !== asReplica) {
      await setReplicaRole(dst, want);
      asReplica = want;
    }
    await copyDirect(dst, t);
  }
  if (asReplica) await setReplicaRole(dst, false);
  return true;
}

/** What the probe of one table found. */
interface Probe {
  /** The table takes the COPY (plain or partitioned, no row-level security) and holds none of the keys. */
  readonly copyable: boolean;
  /** Its only enabled INSERT triggers (partitions included) are foreign-key checks. */
  readonly onlyKeyChecks: boolean;
}

/**
 * One statement per table: can the flush go direct (none of its keys in the destination, the table
 * takes COPY: a plain or partitioned table, row-level security off for the login), and are its only
 * INSERT triggers foreign-key checks?
 */
async function directProbe(dst: Client, { rel, rows }: StagedTable): Promise<Probe> {
  const plan = directPlan(rel)!;
  const values = plan.key.map(() => [] as (string | null)[]);
  for (const e of rows.values()) {
    for (const [i, k] of plan.key.entries()) values[i].push(e.cells[plan.cells[k.at]] as string);
  }
  const args = plan.key.map((k, i) => `$${i + 1}::${k.type}[]`).join(', ');
  const alias = plan.key.map((_k, i) => `k${i}`).join(', ');
  const match = plan.key.map((k, i) => `t.${qi(k.name)} = u.k${i}`).join(' AND ');
  const target = qi(targetRelation(rel.table.layout.spec));
  const r = await dst.query(
    `SELECT c.relkind IN ('r', 'p') AND NOT row_security_active(c.oid) AS copyable, ` +
      `EXISTS (SELECT 1 FROM unnest(${args}) AS u(${alias}) JOIN ${target} AS t ON ${match}) AS present, ` +
      `NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE (g.tgrelid = c.oid OR g.tgrelid IN (SELECT relid FROM pg_partition_tree(c.oid))) ` +
      `AND g.tgenabled <> 'D' AND (g.tgtype & ${TRIGGER_TYPE_INSERT}) <> 0 ` +
      `AND g.tgfoid <> 'pg_catalog."RI_FKey_check_ins"'::regproc) AS only_key_checks ` +
      `FROM pg_class c WHERE c.oid = ${ql(target)}::regclass`,
    values,
  );
  const row = r.rows[0];
  return { copyable: row.copyable === true && row.present !== true, onlyKeyChecks: row.only_key_checks === true };
}

/** pg_trigger.tgtype's INSERT bit. */
const TRIGGER_TYPE_INSERT = 4;

/** For the rest of the apply transaction (or until set back): replica, or the login's default. */
async function setReplicaRole(dst: Client, replica: boolean): Promise<void> {
  await dst.query(`SET LOCAL session_replication_role = ${replica ? 'replica' : 'DEFAULT'}`);
}

async function copyDirect(dst: Client, table: StagedTable): Promise<void> {
  const plan = directPlan(table.rel)!;
  const target = qi(targetRelation(table.rel.table.layout.spec));
  const writer = dst.query(copyFrom(`COPY ${target} (${plan.columns}) FROM STDIN`));
  try {
    const text = copyLines(table.rows.values(), (e) => copyRow(e.cells, plan.cells));
    await pipeline(Readable.from(text), writer);
  } catch (e) {
    if (sqlState(e) !== UNIQUE_VIOLATION) throw e;
    throw new SyncApplyError(
      `table ${table.rel.table.spec.name}: a row with the key of a row the source transaction inserted was committed on ` +
        `${target} while the sync wrote it (${describe(e)}). Nothing of the transaction was applied and the slot did ` +
        'not move (nothing lost): run the sync again, it applies the transaction through the upsert',
    );
  }
}

const UNIQUE_VIOLATION = '23505';

/** One COPY text line of the cells at `at`, tab-separated (built in place: no array per row). */
function copyRow(cells: readonly Cell[], at: readonly number[]): string {
  let line = copyText(cells[at[0]]);
  for (let i = 1; i < at.length; i++) line += `\t${copyText(cells[at[i]])}`;
  return line;
}
