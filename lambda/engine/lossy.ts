/**
 * Type narrowing between a source expression's declared type and a target column's:
 * pure rules, no database. A narrowing is a pair where some source value cannot be
 * stored without truncation, rounding, overflow or losing its time zone.
 */

/** A resolved column type (domains resolved to their base type, arrays to their element). */
export interface PgType {
  /** `format_type` of the declared type, for messages: `character varying(8)`. */
  readonly display: string;
  /** pg_type.typname of the base (element) type: `varchar`, `numeric`, `int8`, `timestamptz`. */
  readonly name: string;
  /** atttypmod / RowDescription type modifier of the base type; -1 when none. */
  readonly typmod: number;
  readonly array: boolean;
}

const INT_DIGITS: Record<string, number> = { int2: 5, int4: 10, int8: 19 };
const INT_RANK: Record<string, number> = { int2: 1, int4: 2, int8: 3 };
const CHAR_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'citext']);
const TIME_PRECISION = new Set(['timestamp', 'timestamptz', 'time', 'timetz', 'interval']);

/** Length limit of varchar/bpchar (`null`: unlimited). `name` holds 63 bytes. */
function charLimit(t: PgType): number | null {
  if (t.name === 'name') return 63;
  if ((t.name === 'varchar' || t.name === 'bpchar') && t.typmod >= 4) return t.typmod - 4;
  return null;
}

/** Precision and scale of numeric(p, s); `null` when unconstrained. */
function numericPS(t: PgType): { p: number; s: number } | null {
  if (t.typmod < 4) return null;
  const m = t.typmod - 4;
  const s = m & 0x7ff;
  return { p: (m >> 16) & 0xffff, s: s > 1000 ? s - 2048 : s };
}

/** Fractional-second precision (0..6) of time types; 6 when unspecified. */
function timePrecision(t: PgType): number {
  if (t.name === 'interval') return t.typmod < 0 || (t.typmod & 0xffff) === 0xffff ? 6 : t.typmod & 0xffff;
  return t.typmod < 0 ? 6 : t.typmod;
}

/**
 * Why storing `src` values in a `tgt` column loses information, or `null` when it does not.
 * Conversions between unrelated types (text → jsonb, text → int) are not narrowings: a value
 * that does not fit fails the copy loudly instead of changing silently.
 */
export function narrowing(src: PgType, tgt: PgType): string | null {
  if (src.array !== tgt.array) return null;
  const s = src.name;
  const t = tgt.name;
  // Character data into a bounded column.
  if (CHAR_TYPES.has(s) && (t === 'varchar' || t === 'bpchar' || t === 'name')) {
    const sl = charLimit(src);
    const tl = charLimit(tgt);
    if (tl !== null && (sl === null || sl > tl))
      return `holds at most ${tl} characters, the source ${sl === null ? 'is unbounded' : `up to ${sl}`}`;
    return null;
  }
  // Integers.
  if (s in INT_RANK && t in INT_RANK) return INT_RANK[t] < INT_RANK[s] ? `${t} cannot hold every ${s}` : null;
  if (s in INT_RANK && t === 'numeric') {
    const ps = numericPS(tgt);
    return ps && ps.p - ps.s < INT_DIGITS[s] ? `numeric(${ps.p},${ps.s}) cannot hold every ${s}` : null;
  }
  if (s in INT_RANK && (t === 'float4' || t === 'float8'))
    return (s === 'int8' || t === 'float4') && !(s === 'int2') ? `${t} rounds large ${s} values` : null;
  // Decimals and floats.
  if (s === 'numeric' && t === 'numeric') {
    const a = numericPS(src);
    const b = numericPS(tgt);
    if (!b) return null;
    if (!a) return `numeric(${b.p},${b.s}) rounds or overflows an unconstrained numeric`;
    if (b.s < a.s) return `numeric(${b.p},${b.s}) rounds numeric(${a.p},${a.s}) to ${b.s} decimals`;
    if (b.p - b.s < a.p - a.s) return `numeric(${b.p},${b.s}) overflows numeric(${a.p},${a.s})`;
    return null;
  }
  if (s === 'numeric' && t in INT_RANK) {
    const a = numericPS(src);
    return a && a.s <= 0 && a.p - a.s < INT_DIGITS[t]
      ? null
      : `${t} rounds or overflows numeric${a ? `(${a.p},${a.s})` : ''}`;
  }
  if ((s === 'float4' || s === 'float8') && (t in INT_RANK || t === 'numeric'))
    return `${tgt.display} rounds or overflows ${s}`;
  if (s === 'numeric' && (t === 'float4' || t === 'float8')) return `${t} rounds numeric values`;
  if (s === 'float8' && t === 'float4') return 'float4 rounds float8 values';
  // Time.
  if (s === 'timestamptz' && t === 'timestamp') return 'timestamp drops the time zone of timestamptz';
  if (s === 'timetz' && t === 'time') return 'time drops the time zone of timetz';
  if ((s === 'timestamptz' || s === 'timestamp') && t === 'date') return 'date drops the time of day';
  if (s === t && TIME_PRECISION.has(s) && timePrecision(tgt) < timePrecision(src))
    return `${tgt.display} rounds fractional seconds to ${timePrecision(tgt)} digits`;
  // Bit strings.
  if (
    (s === 'bit' || s === 'varbit') &&
    (t === 'bit' || t === 'varbit') &&
    tgt.typmod > 0 &&
    (src.typmod <= 0 || src.typmod > tgt.typmod)
  )
    return `${tgt.display} truncates bit strings`;
  return null;
}
