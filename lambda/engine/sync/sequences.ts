import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import type { MigrationSpec } from '../spec';
import { qualifiedTableSpec, targetKey } from '../spec';
import { qi } from '../sql';

export interface SequenceMove {
  readonly table: string;
  readonly column: string;
  readonly sequence: string;
  /** Highest value in use on the other side (column max, or its own sequence's last value). */
  readonly otherMax: string;
  /** Value the sequence was set to (it never moves backwards). */
  readonly setTo: string;
}

/** Column pairs (this side's column, the other side's column) that carry the same values. */
function columnPairs(
  spec: MigrationSpec,
  moving: 'new' | 'old',
): { table: string; mine: string; other: string; otherTable: string; pairs: [string, string][] }[] {
  const out = [];
  for (const raw of spec.tables) {
    const t = qualifiedTableSpec(raw);
    if (!('table' in t.source)) continue;
    const pairs: [string, string][] = targetKey(t).map((k, i) => [k, t.key[i]]);
    for (const [col, expr] of Object.entries(t.columns)) {
      // s.col or s."Any Name" (a quoted name as written, "" for a quote inside).
      const m = /^\s*s\s*\.\s*(?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$]*))\s*$/i.exec(expr);
      if (m) pairs.push([col, m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]]);
    }
    if (moving === 'new')
      out.push({ table: t.name, mine: t.target.table, otherTable: t.source.table, other: '', pairs });
    else
      out.push({
        table: t.name,
        mine: t.source.table,
        otherTable: t.target.table,
        other: '',
        pairs: pairs.map(([a, b]): [string, string] => [b, a]),
      });
  }
  return out;
}

async function sequenceOf(c: Client, table: string, column: string): Promise<string | null> {
  const r = await c.query(`SELECT pg_get_serial_sequence($1, $2) AS s`, [qi(table), column]);
  return (r.rows[0]?.s as string | null) ?? null;
}

async function highest(c: Client, table: string, column: string): Promise<bigint> {
  const m = await c.query(`SELECT max(${qi(column)})::text AS m FROM ${qi(table)}`);
  let v = m.rows[0].m === null ? 0n : BigInt(m.rows[0].m);
  const seq = await sequenceOf(c, table, column);
  if (seq) {
    const s = await c.query(`SELECT last_value::text AS v, is_called FROM ${seq}`);
    if (s.rows[0].is_called) v = v > BigInt(s.rows[0].v) ? v : BigInt(s.rows[0].v);
  }
  return v;
}

/**
 * Sequences this side's column defaults call (`'INV-' || nextval('invoice_no')`) that are not a
 * column's own serial or identity sequence: with the table's spec name and the column.
 */
async function defaultSequences(
  c: Client,
  tables: readonly { table: string; mine: string }[],
): Promise<{ table: string; column: string; sequence: string }[]> {
  const r = await c.query(
    `SELECT DISTINCT format('%I.%I', n.nspname, sc.relname) AS sequence, t.i::int AS i, a.attname::text AS column
       FROM unnest($1::text[]) WITH ORDINALITY t(rel, i) JOIN pg_attrdef ad ON ad.adrelid = t.rel::regclass
       JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
       JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S' JOIN pg_namespace n ON n.oid = sc.relnamespace
       JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum ORDER BY 1, 2`,
    [tables.map((t) => qi(t.mine))],
  );
  return r.rows.map((row) => ({ table: tables[row.i - 1].table, column: row.column, sequence: row.sequence }));
}

/** The last value the other side's sequence of this name handed out, or null (no such sequence, or never called). */
async function lastValueOf(c: Client, sequence: string): Promise<bigint | null> {
  const e = await c.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [sequence]);
  if (!e.rows[0].e) return null;
  const s = await c.query(`SELECT last_value::text AS v, is_called FROM ${sequence}`);
  return s.rows[0].is_called ? BigInt(s.rows[0].v) : null;
}

/** Set `seq` to at least `value` (never backwards); returns what it is now. */
async function setAtLeast(c: Client, seq: string, value: bigint): Promise<string> {
  const r = await c.query(
    `SELECT setval($1::regclass, greatest($2::bigint, (SELECT CASE WHEN is_called THEN last_value ELSE ` +
      `last_value - 1 END FROM ${seq})), true)::text AS v`,
    [seq, value.toString()],
  );
  return r.rows[0].v as string;
}

/**
 * Move the sequences / identity columns of one side past the other side's highest value
 * plus `headroom`, so inserts on the two sides never pick the same key while both take
 * writes. `moving: 'new'` (PrepareTarget, before the first traffic step) sets the new side's
 * sequences past the old side's; `moving: 'old'` (after Finalize or a rollback) the reverse.
 * Only integer columns that carry the same values on both sides (keys, plain `s.<col>`
 * mappings) are considered; and sequences a column default calls (not a column's own), moved past
 * the other side's sequence of the same name. A sequence never moves backwards.
 */
export async function moveSequencesPast(
  spec: MigrationSpec,
  sides: { old: DbEndpoint; new: DbEndpoint },
  opts: { moving: 'new' | 'old'; headroom?: number },
): Promise<SequenceMove[]> {
  const headroom = BigInt(opts.headroom ?? 1_000_000);
  const mine = opts.moving === 'new' ? sides.new : sides.old;
  const other = opts.moving === 'new' ? sides.old : sides.new;
  return withClient(other, { readOnly: true, applicationName: 'switchyard-sequences' }, (o) =>
    withClient(mine, { applicationName: 'switchyard-sequences' }, async (m) => {
      const moves: SequenceMove[] = [];
      for (const t of columnPairs(spec, opts.moving)) {
        for (const [col, otherCol] of t.pairs) {
          const seq = await sequenceOf(m, t.mine, col);
          if (!seq) continue;
          const otherMax = await highest(o, t.otherTable, otherCol);
          const setTo = await setAtLeast(m, seq, otherMax + headroom);
          moves.push({ table: t.table, column: col, sequence: seq, otherMax: otherMax.toString(), setTo });
        }
      }
      const moved = new Set(moves.map((x) => x.sequence));
      for (const d of await defaultSequences(m, columnPairs(spec, opts.moving))) {
        if (moved.has(d.sequence)) continue;
        moved.add(d.sequence);
        const otherMax = await lastValueOf(o, d.sequence);
        if (otherMax === null) continue;
        const setTo = await setAtLeast(m, d.sequence, otherMax + headroom);
        moves.push({ ...d, otherMax: otherMax.toString(), setTo });
      }
      return moves;
    }),
  );
}
