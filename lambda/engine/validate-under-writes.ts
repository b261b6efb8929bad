import { connect, type DbEndpoint, readOnlyQuery, withClient } from './db';
import { sourceRelation, targetKey, targetRelation, type MigrationSpec } from './spec';
import { FULL_RANGE, qi, sourceCompareSelect, targetSelect } from './sql';
import { runSync, slotStatus } from './sync';
import { validateTable, type KeyDifferences, type TableValidation, type ValidateOptions } from './validate';
import type { TableLayout } from './sql';
import { keylessCutMatches } from './validate-keyless';
import { ValidationIncompleteError } from './errors';

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

export interface ManyUnderWritesOptions extends UnderWritesOptions {
  /** Stop (ValidationIncompleteError) when this time (epoch ms) has passed. @default - no deadline */
  readonly deadline?: number;
  /** Called for every sync run validation starts (counting them: one per direction per round). */
  readonly onSyncRun?: (direction: 'forward' | 'reverse') => void;
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

/** A differing key with its kind (missing, extra, changed): the same key must differ the same way twice. */
const tag = (kind: string, k: string[]) => `${kind}:${JSON.stringify(k)}`;

function taggedKeys(d: KeyDifferences): Set<string> {
  const out = new Set<string>();
  for (const [kind, list] of Object.entries({ missing: d.missing, extra: d.extra, changed: d.changed }))
    for (const k of list) out.add(tag(kind, k));
  return out;
}

/**
 * Let the sync apply everything committed on each side up to now (forward when captured, reverse
 * once traffic is split). The insert position: with asynchronous commit, a committed transaction may
 * lie beyond the write position. Returns the positions and times it ran up to.
 */
async function catchUp(
  source: DbEndpoint,
  target: DbEndpoint,
  opts: ManyUnderWritesOptions,
  sides: { captured: boolean; reverseCaptured: boolean },
): Promise<[{ lsn: string; at: number }, { lsn: string; at: number }]> {
  const [pos, tpos] = await Promise.all([currentLsn(source), currentLsn(target)]);
  const { migrationId, spec } = opts;
  if (sides.captured) opts.onSyncRun?.('forward');
  if (sides.reverseCaptured) opts.onSyncRun?.('reverse');
  await Promise.all([
    sides.captured
      ? runSync({
          migrationId,
          direction: 'forward',
          spec,
          source,
          target,
          untilLsn: pos.lsn,
          conflicts: sides.reverseCaptured,
        })
      : undefined,
    sides.reverseCaptured
      ? runSync({
          migrationId,
          direction: 'reverse',
          spec,
          source: target,
          target: source,
          untilLsn: tpos.lsn,
          conflicts: true,
        })
      : undefined,
  ]);
  return [pos, tpos];
}

/**
 * Whether a differing key's row was committed after the catch-up's position on the source (or, with
 * the reverse sync, on the target: `since.target` null skips it). Both tables as the copy and
 * validation resolve them, never through the login's search_path.
 */
async function committedSinceCheck(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  d: KeyDifferences,
  since: { source: number; target: number | null },
): Promise<(k: string[]) => boolean> {
  const t = layout.spec;
  const sourceTable = sourceRelation(t);
  const [times, targetTimes] = await Promise.all([
    sourceTable
      ? commitTimes(source, sourceTable, t.key, [...d.missing, ...d.changed])
      : new Map<string, number | null>(),
    since.target !== null
      ? commitTimes(target, targetRelation(t), targetKey(t), [...d.extra, ...d.changed])
      : new Map<string, number | null>(),
  ]);
  const after = (m: Map<string, number | null>, k: string[], at: number | null) => {
    const ts = m.get(JSON.stringify(k));
    return at !== null && ts !== undefined && ts !== null && ts > at;
  };
  return (k) => after(times, k, since.source) || after(targetTimes, k, since.target);
}

/** Which directions capture changes now: forward from the copy on; reverse once traffic is split (the new side takes writes). */
async function capturedDirections(source: DbEndpoint, target: DbEndpoint, migrationId: string) {
  const exists = (db: DbEndpoint, d: 'forward' | 'reverse') =>
    slotStatus(db, migrationId, d).then(
      (st) => st.exists,
      () => false,
    );
  const [captured, reverseCaptured] = await Promise.all([exists(source, 'forward'), exists(target, 'reverse')]);
  return { captured, reverseCaptured };
}

/** Validate one table while the service writes: the one-table case of `validateManyUnderWrites`. */
export async function validateUnderWrites(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: UnderWritesOptions,
): Promise<UnderWritesResult> {
  return (await validateManyUnderWrites([layout], source, target, opts))[0];
}

/**
 * Validate many tables while the service writes. Every table is validated once; then the tables
 * that differ share the recheck rounds: per round ONE sync run per captured direction up to the
 * current position(s), then every still-differing table is checked again (its mismatched chunks),
 * with the per-key rules of `recheckTable`. Results in the order of `layouts`. Past `deadline`
 * (epoch ms) it throws ValidationIncompleteError naming the tables not yet decided.
 */
export async function validateManyUnderWrites(
  layouts: readonly TableLayout[],
  source: DbEndpoint,
  target: DbEndpoint,
  opts: ManyUnderWritesOptions,
): Promise<UnderWritesResult[]> {
  const results: (UnderWritesResult | undefined)[] = layouts.map(() => undefined);
  const listing = { ...opts, maxKeys: opts.maxKeys ?? UNDER_WRITES_MAX_KEYS };
  const open: Recheck[] = [];
  for (const [i, layout] of layouts.entries()) {
    checkDeadline(opts, [...open.map((o) => o.layout), ...layouts.slice(i)]);
    const v = await validateTable(layout, source, target, listing);
    if (v.match)
      results[i] = {
        validation: v,
        match: true,
        keysRechecked: 0,
        mismatches: v.differences,
        stillChanging: 0,
        rounds: 0,
      };
    else open.push(startRecheck(i, layout, v));
  }
  if (open.length) {
    const sides = await capturedDirections(source, target, opts.migrationId);
    const rounds = Math.max(2, opts.rounds ?? 5);
    // A keyless table has no keys to recheck: it compares itself whole at a consistent cut (own sync runs).
    const whole = (o: Recheck) => o.layout.spec.keyless && sides.captured;
    for (const r of open.filter(whole)) {
      checkDeadline(
        opts,
        open.filter((o) => results[o.index] === undefined).map((o) => o.layout),
      );
      results[r.index] = await keylessUnderWrites(r.layout, source, target, opts, r.first, rounds);
    }
    const keyed = open.filter((o) => !whole(o));
    for (const r of await sharedRounds(keyed, source, target, { ...listing, rounds }, sides))
      results[r.index] = r.result;
  }
  return results as UnderWritesResult[];
}

/** The recheck rounds shared by the tables that differ: one catch-up per round, then each open table again. */
async function sharedRounds(
  open: Recheck[],
  source: DbEndpoint,
  target: DbEndpoint,
  opts: ManyUnderWritesOptions & { rounds: number },
  sides: { captured: boolean; reverseCaptured: boolean },
): Promise<{ index: number; result: UnderWritesResult }[]> {
  const decided: { index: number; result: UnderWritesResult }[] = [];
  let pending = open;
  for (let round = 1; round <= opts.rounds && pending.length; round++) {
    checkDeadline(
      opts,
      pending.map((r) => r.layout),
    );
    // Let the sync apply everything committed up to now (once for all tables), then look again.
    const [pos, tpos] = await catchUp(source, target, opts, sides);
    const next: Recheck[] = [];
    for (const [j, r] of pending.entries()) {
      checkDeadline(
        opts,
        pending.slice(j).map((p) => p.layout),
      );
      const since = { source: pos.at, target: sides.reverseCaptured ? tpos.at : null };
      const result = await recheckTable(r, round, source, target, opts, since);
      if (result) decided.push({ index: r.index, result });
      else next.push(r);
    }
    pending = next;
  }
  for (const r of pending) decided.push({ index: r.index, result: finalResult(r, opts.rounds) });
  return decided;
}

/** A table that differed at first, between recheck rounds. */
interface Recheck {
  readonly index: number;
  readonly layout: TableLayout;
  readonly first: TableValidation;
  /** The latest validation (its mismatched chunks are checked again). */
  v: TableValidation;
  readonly rechecked: Set<string>;
  /** The tagged keys that differed in the round before. */
  previous: Set<string>;
  mismatches: KeyDifferences;
  stillChanging: number;
  hashesBefore: ColumnHashes;
}

const startRecheck = (index: number, layout: TableLayout, v: TableValidation): Recheck => ({
  index,
  layout,
  first: v,
  v,
  rechecked: new Set(),
  previous: taggedKeys(v.differences),
  mismatches: v.differences,
  stillChanging: 0,
  hashesBefore: new Map(),
});

function finalResult(r: Recheck, rounds: number): UnderWritesResult {
  const m = r.mismatches;
  const match = keyCount(m) === 0 && !m.truncated && !r.layout.spec.keyless;
  return {
    validation: { ...r.v, source: r.first.source, target: r.first.target, match },
    match,
    keysRechecked: r.rechecked.size,
    mismatches: m,
    stillChanging: r.stillChanging,
    rounds,
  };
}

/**
 * One recheck round of one table, after the sync applied up to `since`: its result when decided
 * (it matches), else undefined (`r` updated for the next round).
 */
async function recheckTable(
  r: Recheck,
  round: number,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: ManyUnderWritesOptions,
  since: { source: number; target: number | null },
): Promise<UnderWritesResult | undefined> {
  const { layout } = r;
  for (const list of [r.v.differences.missing, r.v.differences.extra, r.v.differences.changed])
    for (const k of list) r.rechecked.add(JSON.stringify(k));
  const chunks = r.v.mismatchedChunks.length
    ? { from: Math.min(...r.v.mismatchedChunks), to: Math.max(...r.v.mismatchedChunks) }
    : opts.chunkNos;
  const v = await validateTable(layout, source, target, {
    ...opts,
    maxKeys: opts.maxKeys ?? UNDER_WRITES_MAX_KEYS,
    chunkNos: chunks,
  });
  r.v = v;
  if (v.match) {
    r.mismatches = { missing: [], extra: [], changed: [], truncated: false };
    r.stillChanging = 0;
    const f = finalResult(r, round); // a matching checksum passes even a keyless table
    return { ...f, match: true, validation: { ...f.validation, match: true } };
  }
  // Pending, not different: a source row committed after the position (the sync has not reached it), or a key
  // that differs now but did not in the round before (it changed since: the next sync run applies it).
  const committedSince = await committedSinceCheck(layout, source, target, v.differences, since);
  const current = new Set<string>();
  const keep = (kind: string, list: string[][]) =>
    list.filter((k) => {
      current.add(tag(kind, k));
      return r.previous.has(tag(kind, k)) && !committedSince(k);
    });
  const changed = keep('changed', v.differences.changed);
  const busy = v.differences.changed.filter((k) => !changed.includes(k));
  const hashesNow = await columnHashes(layout, source, target, busy);
  r.mismatches = {
    missing: keep('missing', v.differences.missing),
    extra: keep('extra', v.differences.extra),
    changed: [...changed, ...stuckColumns(busy, r.hashesBefore, hashesNow)],
    truncated: v.differences.truncated,
  };
  r.hashesBefore = hashesNow;
  r.stillChanging = keyCount(v.differences) - keyCount(r.mismatches);
  r.previous = current;
  // A busy row is compared column by column across two rounds before it may pass (stuckColumns).
  const compared = busy.length === 0 || round >= 2;
  // A keyless table lists no keys (they would be row values): only a matching checksum passes it.
  if (keyCount(r.mismatches) === 0 && !v.differences.truncated && compared && !layout.spec.keyless)
    return finalResult(r, round);
  return undefined;
}

/** Stop before the invocation's budget runs out: a named error rather than a killed Lambda. */
function checkDeadline(opts: ManyUnderWritesOptions, left: readonly TableLayout[]): void {
  if (opts.deadline === undefined || Date.now() < opts.deadline) return;
  const names = left.slice(0, 10).map((l) => l.spec.name);
  throw new ValidationIncompleteError(
    `validation did not finish within the invocation's time budget: ${left.length} table(s) not yet decided ` +
      `(${names.join(', ')}${left.length > names.length ? ', …' : ''}); nothing was changed. Run the migration ` +
      'again when the service writes less: the tables that change while validation runs are checked again.',
  );
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
  opts: ManyUnderWritesOptions,
  first: TableValidation,
  rounds: number,
): Promise<UnderWritesResult> {
  const none: KeyDifferences = { missing: [], extra: [], changed: [], truncated: false };
  const apply = (lsn: string) => {
    opts.onSyncRun?.('forward');
    return runSync({
      migrationId: opts.migrationId,
      direction: 'forward',
      spec: opts.spec,
      source,
      target,
      untilLsn: lsn,
    });
  };
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
