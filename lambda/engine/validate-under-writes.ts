import { connect, type DbEndpoint, readOnlyQuery, withClient } from './db';
import { sourceRelation, targetKey, targetRelation, type MigrationSpec } from './spec';
import { FULL_RANGE, qi, sourceCompareSelect, targetSelect } from './sql';
import { runSync, slotStatus } from './sync';
import { validateTable, type KeyDifferences, type TableValidation, type ValidateOptions } from './validate';
import type { TableLayout } from './sql';
import { keylessCutMatches } from './validate-keyless';

/**
 * Validation while the service keeps writing. A chunk checksum that differs may only mean that a
 * row changed after the last sync run: each round reads the source's current position, lets the
 * sync apply up to it, and checks the differing chunks again. A key that still differs is a
 * mismatch only if nothing is pending for it: its source row was last committed before the
 * position the sync applied (pg_xact_commit_timestamp, with track_commit_timestamp on). A row the
 * service keeps changing is reported as still changing, not as a mismatch — unless one of its
 * columns differs while neither side's value of that column changed between two rounds (the sync
 * applied the row's changes in between): that is a permanent difference a busy row would otherwise
 * hide, and a mismatch.
 */
export interface UnderWritesResult {
  readonly validation: TableValidation;
  readonly match: boolean;
  /** Keys that differed at first and were checked again after the sync caught up. */
  readonly keysRechecked: number;
  /** Keys that still differ with nothing pending: real differences. */
  readonly mismatches: KeyDifferences;
  /** Keys whose source row changed after the last applied position in every round. */
  readonly stillChanging: number;
  readonly rounds: number;
}

export interface UnderWritesOptions extends ValidateOptions {
  /** The migration whose forward sync applies the pending changes (no sync when it has no capture). */
  readonly migrationId: string;
  readonly spec: MigrationSpec;
  /** Recheck rounds before the remaining differences count. @default 5 */
  readonly rounds?: number;
}

const keyCount = (d: KeyDifferences) => d.missing.length + d.extra.length + d.changed.length;

/**
 * Differing keys listed per validation while the service writes. Every row written since the last
 * sync run differs for a moment; a busy service (100 writes/s, a round of a few seconds on a loaded
 * database) exceeds a small listing, and a truncated listing can never pass. Pending keys are then
 * told apart by commit time, round after round.
 */
export const UNDER_WRITES_MAX_KEYS = 5_000;

/** A table's key → commit time of its current row version (absent: no such row or no commit timestamps). `table` is schema-qualified. */
async function commitTimes(
  db: DbEndpoint,
  table: string,
  keyCols: readonly string[],
  keys: string[][],
): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (!keys.length) return out;
  return withClient(db, { readOnly: true, applicationName: 'switchyard-validate' }, async (c) => {
    const on = (await readOnlyQuery(c, `SELECT current_setting('track_commit_timestamp') AS v`)).rows[0].v === 'on';
    if (!on) return out;
    const tuple = keyCols.map((k) => `${qi(k)}::text`).join(', ');
    const r = await readOnlyQuery(
      c,
      `SELECT ARRAY[${tuple}] AS k, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS ts FROM ${qi(table)}
        WHERE ARRAY[${tuple}] = ANY (SELECT ARRAY(SELECT jsonb_array_elements_text(x)) FROM jsonb_array_elements($1::jsonb) x)`,
      [JSON.stringify(keys)],
    );
    for (const row of r.rows as { k: string[]; ts: string | null }[])
      out.set(JSON.stringify(row.k), row.ts === null ? null : Number(row.ts));
    return out;
  });
}

/** Per key: one hash per target column, on each side (the same comparison validation hashes rows with). */
type ColumnHashes = Map<string, { src: string[]; tgt: string[] }>;

async function columnHashes(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  keys: string[][],
): Promise<ColumnHashes> {
  const out: ColumnHashes = new Map();
  if (!keys.length) return out;
  const tk = targetKey(layout.spec);
  const side = async (db: DbEndpoint, rowsSql: string) =>
    withClient(db, { readOnly: true, applicationName: 'switchyard-validate' }, async (c) => {
      const r = await readOnlyQuery(
        c,
        `SELECT ARRAY[${tk.map((k) => `r.${qi(k)}::text`).join(', ')}] AS k,
                ARRAY[${layout.columns.map((col) => `hashtextextended(r.${qi(col.name)}::text, 0)::text`).join(', ')}] AS h
           FROM (${rowsSql}) AS r
          WHERE ARRAY[${tk.map((k) => `r.${qi(k)}::text`).join(', ')}]
                = ANY (SELECT ARRAY(SELECT jsonb_array_elements_text(x)) FROM jsonb_array_elements($1::jsonb) x)`,
        [JSON.stringify(keys)],
      );
      return new Map(r.rows.map((row) => [JSON.stringify(row.k), row.h as string[]]));
    });
  const [src, tgt] = await Promise.all([
    side(source, sourceCompareSelect(layout, FULL_RANGE)),
    side(target, targetSelect(layout, FULL_RANGE)),
  ]);
  for (const [k, h] of src) {
    const t = tgt.get(k);
    if (t) out.set(k, { src: h, tgt: t });
  }
  return out;
}

/**
 * Keys of rows still changing that nevertheless differ for good: a column whose value differs, and
 * did not change on either side between two rounds although the sync applied the row's changes in
 * between (a busy row must not hide a permanent difference, such as a TOASTed value the sync kept).
 */
function stuckColumns(keys: string[][], before: ColumnHashes, now: ColumnHashes): string[][] {
  return keys.filter((k) => {
    const a = before.get(JSON.stringify(k));
    const b = now.get(JSON.stringify(k));
    if (!a || !b) return false;
    return b.src.some((h, i) => h !== b.tgt[i] && a.src[i] === h && a.tgt[i] === b.tgt[i]);
  });
}

async function currentLsn(db: DbEndpoint): Promise<{ lsn: string; at: number }> {
  const c = await connect(db, { readOnly: true, applicationName: 'switchyard-validate' });
  try {
    const r = await c.query(
      `SELECT pg_current_wal_insert_lsn()::text AS lsn, extract(epoch FROM clock_timestamp()) * 1000 AS at`,
    );
    return { lsn: r.rows[0].lsn, at: Number(r.rows[0].at) };
  } finally {
    await c.end();
  }
}

export async function validateUnderWrites(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: UnderWritesOptions,
): Promise<UnderWritesResult> {
  const listing = { ...opts, maxKeys: opts.maxKeys ?? UNDER_WRITES_MAX_KEYS };
  let v = await validateTable(layout, source, target, listing);
  if (v.match)
    return { validation: v, match: true, keysRechecked: 0, mismatches: v.differences, stillChanging: 0, rounds: 0 };
  const first = v;
  const captured = (await slotStatus(source, opts.migrationId, 'forward').catch(() => ({ exists: false }))).exists;
  // Once traffic is split the new side takes writes too: its changes reach the old side through the reverse sync.
  const reverseCaptured = (await slotStatus(target, opts.migrationId, 'reverse').catch(() => ({ exists: false })))
    .exists;
  const t = layout.spec;
  const rounds = Math.max(2, opts.rounds ?? 5);
  if (t.keyless && captured) return keylessUnderWrites(layout, source, target, opts, first, rounds);
  const rechecked = new Set<string>();
  const tag = (kind: string, k: string[]) => `${kind}:${JSON.stringify(k)}`;
  let previous = new Set<string>();
  for (const [kind, list] of Object.entries({
    missing: v.differences.missing,
    extra: v.differences.extra,
    changed: v.differences.changed,
  }))
    for (const k of list) previous.add(tag(kind, k));
  let mismatches: KeyDifferences = v.differences;
  let stillChanging = 0;
  let hashesBefore: ColumnHashes = new Map();
  for (let round = 1; round <= rounds; round++) {
    for (const list of [v.differences.missing, v.differences.extra, v.differences.changed])
      for (const k of list) rechecked.add(JSON.stringify(k));
    // Let the sync apply everything committed on the source up to now, then look again.
    // The insert position: with asynchronous commit, a committed transaction may lie beyond the write position.
    const [pos, tpos] = await Promise.all([currentLsn(source), currentLsn(target)]);
    await Promise.all([
      captured
        ? runSync({
            migrationId: opts.migrationId,
            direction: 'forward',
            spec: opts.spec,
            source,
            target,
            untilLsn: pos.lsn,
            conflicts: reverseCaptured,
          })
        : undefined,
      reverseCaptured
        ? runSync({
            migrationId: opts.migrationId,
            direction: 'reverse',
            spec: opts.spec,
            source: target,
            target: source,
            untilLsn: tpos.lsn,
            conflicts: true,
          })
        : undefined,
    ]);
    const chunks = v.mismatchedChunks.length
      ? { from: Math.min(...v.mismatchedChunks), to: Math.max(...v.mismatchedChunks) }
      : opts.chunkNos;
    v = await validateTable(layout, source, target, { ...listing, chunkNos: chunks });
    const done = (m: KeyDifferences, changing: number) => ({
      validation: { ...v, source: first.source, target: first.target, match: keyCount(m) === 0 && !m.truncated },
      match: keyCount(m) === 0 && !m.truncated,
      keysRechecked: rechecked.size,
      mismatches: m,
      stillChanging: changing,
      rounds: round,
    });
    if (v.match) return done({ missing: [], extra: [], changed: [], truncated: false }, 0);
    // Pending, not different: a source row committed after `pos` (the sync has not reached it), or a key
    // that differs now but did not in the round before (it changed since: the next sync run applies it).
    // Both tables as the copy and validation resolve them, never through the login's search_path.
    const sourceTable = sourceRelation(t);
    const [times, targetTimes] = await Promise.all([
      sourceTable
        ? commitTimes(source, sourceTable, t.key, [...v.differences.missing, ...v.differences.changed])
        : new Map<string, number | null>(),
      reverseCaptured
        ? commitTimes(target, targetRelation(t), targetKey(t), [...v.differences.extra, ...v.differences.changed])
        : new Map<string, number | null>(),
    ]);
    const after = (m: Map<string, number | null>, k: string[], at: number) => {
      const ts = m.get(JSON.stringify(k));
      return ts !== undefined && ts !== null && ts > at;
    };
    const committedSince = (k: string[]) => after(times, k, pos.at) || after(targetTimes, k, tpos.at);
    const current = new Set<string>();
    const keep = (kind: string, list: string[][]) =>
      list.filter((k) => {
        current.add(tag(kind, k));
        return previous.has(tag(kind, k)) && !committedSince(k);
      });
    const changed = keep('changed', v.differences.changed);
    const busy = v.differences.changed.filter((k) => !changed.includes(k));
    const hashesNow = await columnHashes(layout, source, target, busy);
    mismatches = {
      missing: keep('missing', v.differences.missing),
      extra: keep('extra', v.differences.extra),
      changed: [...changed, ...stuckColumns(busy, hashesBefore, hashesNow)],
      truncated: v.differences.truncated,
    };
    hashesBefore = hashesNow;
    stillChanging = keyCount(v.differences) - keyCount(mismatches);
    previous = current;
    // A busy row is compared column by column across two rounds before it may pass (stuckColumns).
    const compared = busy.length === 0 || round >= 2;
    // A keyless table lists no keys (they would be row values): only a matching checksum passes it.
    if (keyCount(mismatches) === 0 && !v.differences.truncated && compared && !t.keyless)
      return done(mismatches, stillChanging);
  }
  const match = keyCount(mismatches) === 0 && !mismatches.truncated && !t.keyless;
  return {
    validation: { ...v, source: first.source, target: first.target, match },
    match,
    keysRechecked: rechecked.size,
    mismatches,
    stillChanging,
    rounds,
  };
}

/**
 * A keyless table under writes: no keys to recheck, so each round compares the whole table at a
 * consistent cut (validate-keyless.ts); it matches when one round does, else it is a mismatch
 * (its chunk in `mismatchedChunks`, no keys: they would be row values).
 */
async function keylessUnderWrites(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: UnderWritesOptions,
  first: TableValidation,
  rounds: number,
): Promise<UnderWritesResult> {
  const none: KeyDifferences = { missing: [], extra: [], changed: [], truncated: false };
  const apply = (lsn: string) =>
    runSync({ migrationId: opts.migrationId, direction: 'forward', spec: opts.spec, source, target, untilLsn: lsn });
  for (let round = 1; round <= rounds; round++) {
    if (await keylessCutMatches(layout, source, target, apply))
      return {
        validation: { ...first, match: true, mismatchedChunks: [] },
        match: true,
        keysRechecked: 0,
        mismatches: none,
        stillChanging: 0,
        rounds: round,
      };
  }
  return { validation: first, match: false, keysRechecked: 0, mismatches: none, stillChanging: 0, rounds };
}
