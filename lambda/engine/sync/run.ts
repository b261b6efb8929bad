import type { Client } from 'pg';
import { connect, type DbEndpoint } from '../db';
import { describe } from '../errors';
import type { MigrationSpec } from '../spec';
import { Applier, type BoundRelation } from './apply';
import { ensureSyncBookkeeping, readPosition } from './bookkeeping';
import {
  CommitTimestampsOffError,
  ReplicationSlotInvalidatedError,
  ReplicationSlotMissingError,
  UnsupportedChangeError,
} from './errors';
import { type Direction, MESSAGE_PREFIX, OBJECT_PREFIX, slotLockName, syncNames } from './names';
import { decodeMessage, formatLsn, parseLsn, pgTimeToIso, pgTimeToMs } from './pgoutput';
import { assertSlotUsable, slotStatusWith } from './slot';
import { type SyncTable, syncTables } from './tables';
import { ensureTombstoneTriggers, tombstoneTables } from './tombstones';

export interface SyncRunOptions {
  readonly migrationId: string;
  readonly direction: Direction;
  readonly spec: MigrationSpec;
  /** Where changes are read (old for forward, new for reverse). */
  readonly source: DbEndpoint;
  /** Where changes are applied. */
  readonly target: DbEndpoint;
  /** Stop after this long (checked between batches). */
  readonly maxMs?: number;
  /** Stop once everything up to this source LSN is applied. */
  readonly untilLsn?: string;
  /** Stop once the source is less than this many bytes ahead (after a batch that reached its end). */
  readonly untilLagBytes?: number;
  /** Continuous mode: stop (after the current batch) when aborted. */
  readonly signal?: AbortSignal;
  /** upto_nchanges of one peek: a batch ends after the transaction holding the n-th change. @default 20000 */
  readonly batchChanges?: number;
  /** Coalesced rows written per flush (a huge transaction is applied in several flushes of one destination transaction). @default 20000 */
  readonly flushRows?: number;
  /** Later-commit-wins conflict detection. @default true for reverse, false for forward (see conflicts.ts) */
  readonly conflicts?: boolean;
  /** Wait between empty polls. @default 100 */
  readonly pollMs?: number;
  readonly onProgress?: (p: SyncProgress) => void;
  /** Run inside every apply transaction before it commits (fencing, lambda/engine/sync/fence.ts). @default - none */
  readonly fence?: (c: Client) => Promise<void>;
  /** Test hooks. `afterApplyCommit` runs after a destination commit, before the slot is advanced. */
  readonly faults?: { readonly afterApplyCommit?: (lsn: string) => void | Promise<void> };
}

export interface SyncProgress {
  readonly appliedLsn: string;
  readonly sourceLsn: string;
  readonly lagBytes: number;
  readonly lagSeconds: number;
  readonly transactions: number;
  readonly changes: number;
}

export interface SyncRunResult {
  readonly slot: string;
  readonly direction: Direction;
  /** Source transactions applied by this run. */
  readonly transactions: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  /** Changes of transactions at or below the stored position (applied by an earlier run): skipped. */
  readonly alreadyApplied: number;
  /** Changes written by the sync itself (the other direction): skipped, so nothing loops. */
  readonly loopSkipped: number;
  readonly conflicts: number;
  readonly appliedLsn: string;
  readonly sourceLsn: string;
  readonly lagBytes: number;
  /** now − commit time of the last applied transaction when behind; 0 when caught up. */
  readonly lagSeconds: number;
  readonly caughtUp: boolean;
  readonly loopGuard: 'origin' | 'message';
  readonly batches: number;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

function mapPeekError(e: unknown, slot: string): unknown {
  const code = (e as { code?: string }).code;
  const msg = describe(e);
  if (code === '42704')
    return new ReplicationSlotMissingError(
      `replication slot ${slot} does not exist (${msg}): drop the sync objects, re-run PrepareTarget and copy from scratch`,
      { cause: e },
    );
  if (code === '55000' && /invalidat|no longer|lost/i.test(msg)) {
    return new ReplicationSlotInvalidatedError(
      `replication slot ${slot} is invalidated (${msg}): re-run PrepareTarget and copy from scratch, or RestoreData`,
      { cause: e },
    );
  }
  return e;
}

/**
 * Apply the changes of one direction, in commit order, exactly once, until a bound is
 * reached: `maxMs`, `untilLsn`, `untilLagBytes` or `signal` (whichever first); with none of
 * them, until the source position at the start of the run is applied.
 */
export async function runSync(opts: SyncRunOptions): Promise<SyncRunResult> {
  const { slot, publication, origin } = syncNames(opts.migrationId, opts.direction);
  const conflicts = opts.conflicts ?? opts.direction === 'reverse';
  const batchChanges = opts.batchChanges ?? 20_000;
  const flushRows = opts.flushRows ?? 20_000;
  const started = Date.now();
  const src = await connect(opts.source, { applicationName: 'switchyard-sync' });
  let dst: Client | undefined;
  try {
    dst = await connect(opts.target, { applicationName: 'switchyard-sync-apply' });
    await ensureSyncBookkeeping(dst);
    if (conflicts) {
      const ts = await dst.query(`SELECT current_setting('track_commit_timestamp') AS v`);
      if (ts.rows[0].v !== 'on') {
        throw new CommitTimestampsOffError(
          `the ${opts.direction} sync resolves conflicts by commit time but track_commit_timestamp is off on the destination: set it on (RDS: DB parameter group, reboot), or run with conflicts off while only one side takes writes`,
        );
      }
    }
    assertSlotUsable(await slotStatusWith(src, slot), opts.direction);
    // Later commit wins against local deletes too: the destination records them as tombstones (tombstones.ts).
    if (conflicts)
      await ensureTombstoneTriggers(dst, tombstoneTables(opts.spec, opts.direction), opts.migrationId, opts.direction);

    // Loop guard: a replication origin when the login may use one, else a logical message per transaction.
    const originOk =
      (await dst.query(`SELECT has_function_privilege('pg_replication_origin_session_setup(text)', 'execute') AS ok`))
        .rows[0].ok === true;
    let loopGuard: 'origin' | 'message' = 'message';
    if (originOk) {
      await dst.query(`SELECT pg_replication_origin_create($1) WHERE pg_replication_origin_oid($1) IS NULL`, [origin]);
      await dst.query(`SELECT pg_replication_origin_session_setup($1)`, [origin]);
      loopGuard = 'origin';
    }

    const canFlush =
      (
        await src.query(
          `SELECT current_setting('server_version_num')::int >= 170000 AND has_function_privilege('pg_logical_emit_message(boolean,text,text,boolean)', 'execute') AS ok`,
        )
      ).rows[0].ok === true;
    const tables = await syncTables(opts.spec, opts.direction, src, dst);
    const bySource = new Map<string, SyncTable>(tables.map((t) => [t.sourceTable, t]));
    const applier = new Applier(dst, src, {
      direction: opts.direction,
      slot,
      conflicts,
      loopGuard,
      migrationId: opts.migrationId,
      fence: opts.fence,
    });
    const bound = new Map<number, BoundRelation & { sig: string }>();
    const stored = await readPosition(dst, slot);
    let position = stored ? parseLsn(stored.lsn) : 0n;
    let lastCommitMs = stored?.commitTime ? stored.commitTime.getTime() : null;

    let transactions = 0;
    let alreadyApplied = 0;
    let loopSkipped = 0;
    let batches = 0;
    let caughtUp = false;
    let confirmed = 0n;
    let sourceLsn = 0n;
    const untilLsn = opts.untilLsn ? parseLsn(opts.untilLsn) : null;
    const bounded =
      opts.maxMs !== undefined || untilLsn !== null || opts.untilLagBytes !== undefined || opts.signal !== undefined;
    let drainTo: bigint | null = untilLsn;
    const progress = (): SyncProgress => {
      const applied = max(position, confirmed);
      const lagBytes = Number(sourceLsn > applied ? sourceLsn - applied : 0n);
      return {
        appliedLsn: formatLsn(applied),
        sourceLsn: formatLsn(sourceLsn),
        lagBytes,
        lagSeconds: caughtUp || lastCommitMs === null ? 0 : Math.max(0, (Date.now() - lastCommitMs) / 1000),
        transactions,
        changes: applier.counts.inserted + applier.counts.updated + applier.counts.deleted,
      };
    };

    for (;;) {
      // One applier per slot at a time (a bake and an operator's drain may run at once): each batch
      // holds the slot's lock on the source from the peek to the advance, and starts from the
      // position stored in the destination, which the other applier may have moved.
      await src.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [slotLockName(slot)]);
      const fresh = await readPosition(dst, slot);
      if (fresh && parseLsn(fresh.lsn) > position) {
        position = parseLsn(fresh.lsn);
        if (fresh.commitTime) lastCommitMs = fresh.commitTime.getTime();
      }
      // The insert position: with asynchronous commit, a committed transaction may not be written yet.
      let w = await src.query(
        `SELECT pg_current_wal_insert_lsn()::text AS cur, pg_current_wal_flush_lsn()::text AS flush`,
      );
      if (canFlush && parseLsn(w.rows[0].flush) < parseLsn(w.rows[0].cur)) {
        // Decoding only reads flushed WAL: flush it now (a tiny non-transactional message, no data) instead of waiting for the WAL writer.
        await src.query(`SELECT pg_logical_emit_message(false, 'switchyard-flush', '', true)`);
        w = await src.query(
          `SELECT pg_current_wal_insert_lsn()::text AS cur, pg_current_wal_flush_lsn()::text AS flush`,
        );
      }
      const cur = parseLsn(w.rows[0].cur);
      const flushed = parseLsn(w.rows[0].flush);
      if (!bounded && drainTo === null) drainTo = cur;
      const upto = drainTo !== null && drainTo < cur ? drainTo : cur;

      // One batch: peek (never get) whole transactions up to `upto`; apply; commit with the position; then advance.
      let rows = 0;
      let lastEndSeen = 0n;
      let pendingEnd = 0n;
      let pendingTs = '';
      let tx: { already: boolean; skip: boolean; ts: string; ms: number; changes: number } | null = null;
      const commitDest = async () => {
        if (!applier.open) return;
        await applier.commit(bound.values(), formatLsn(pendingEnd), pendingTs);
        position = max(position, pendingEnd);
        if (opts.faults?.afterApplyCommit) await opts.faults.afterApplyCommit(formatLsn(pendingEnd));
      };
      try {
        await src.query('BEGIN');
        await src.query(
          `DECLARE sy_changes NO SCROLL CURSOR FOR SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3,
             'proto_version', '1', 'publication_names', $4, 'messages', 'true')`,
          [slot, formatLsn(upto), batchChanges, publication],
        );
        for (;;) {
          const f = await src.query(`FETCH 5000 FROM sy_changes`);
          if (!f.rowCount) break;
          for (const { data } of f.rows as { data: Buffer }[]) {
            rows++;
            const m = decodeMessage(data);
            switch (m.tag) {
              case 'begin':
                tx = {
                  already: m.finalLsn < position,
                  skip: false,
                  ts: pgTimeToIso(m.commitTimeUs),
                  ms: pgTimeToMs(m.commitTimeUs),
                  changes: 0,
                };
                break;
              case 'origin':
                if (tx && m.name.startsWith(OBJECT_PREFIX)) tx.skip = true;
                break;
              case 'message':
                if (tx && m.transactional && m.prefix === MESSAGE_PREFIX) {
                  if (tx.changes > 0 && !tx.already)
                    throw new UnsupportedChangeError(
                      `a transaction marked as written by the sync carried changes before its mark (slot ${slot}): refusing to apply it partly`,
                    );
                  tx.skip = true;
                }
                break;
              case 'relation': {
                const table = bySource.get(`${m.schema}.${m.table}`);
                if (!table) break;
                const sig = JSON.stringify([m.columns, m.replicaIdentity]);
                const prev = bound.get(m.relid);
                if (prev?.sig === sig) break;
                if (prev?.pending.size) await applier.flush(bound.values());
                bound.set(m.relid, Object.assign(await applier.bind(table, m.columns, m.replicaIdentity), { sig }));
                break;
              }
              case 'type':
                break;
              case 'insert':
              case 'update':
              case 'delete': {
                if (!tx) throw new UnsupportedChangeError(`a change outside a transaction at slot ${slot}`);
                if (tx.already) {
                  alreadyApplied++;
                  break;
                }
                if (tx.skip) {
                  loopSkipped++;
                  break;
                }
                const rel = bound.get(m.relid);
                if (!rel)
                  throw new UnsupportedChangeError(
                    `a change for relation ${m.relid}, which is not a spec table, arrived at slot ${slot}: check the publication ${publication}`,
                  );
                tx.changes++;
                if (m.tag === 'insert') await applier.insert(rel, m.row, tx.ts);
                else if (m.tag === 'update') await applier.update(rel, m.old, m.row, tx.ts);
                else await applier.delete(rel, m.old, tx.ts);
                if (applier.pending >= flushRows) await applier.flush(bound.values());
                break;
              }
              case 'truncate': {
                if (tx?.already || tx?.skip) break;
                const names = m.relids.map((id) => bound.get(id)?.table.spec.name ?? `relation ${id}`);
                throw new UnsupportedChangeError(
                  `TRUNCATE of ${names.join(', ')} on the source cannot be synced (it would have to empty the destination table): nothing after it was applied; ` +
                    `re-copy the table(s) (PrepareTarget + CopyData) once the truncate is intended, or restore the rows on the source`,
                );
              }
              case 'commit':
                lastEndSeen = m.endLsn;
                if (tx && !tx.already && !tx.skip && tx.changes > 0) {
                  transactions++;
                  pendingEnd = m.endLsn;
                  pendingTs = tx.ts;
                  lastCommitMs = tx.ms;
                  if (applier.pending >= flushRows) await commitDest();
                }
                tx = null;
                break;
              case 'unsupported':
                throw new UnsupportedChangeError(
                  `pgoutput message ${m.code} (streamed or two-phase transaction, or a newer protocol) at slot ${slot} cannot be applied: nothing after it was applied`,
                );
            }
          }
        }
        await src.query('COMMIT');
        await commitDest();
      } catch (e) {
        await applier.rollback(bound.values());
        await src.query('ROLLBACK').catch(() => undefined);
        throw mapPeekError(e, slot);
      }
      batches++;
      const reachedEnd = rows < batchChanges;
      // Nothing is pending below `flushed` when the batch reached its end: the slot may move past empty WAL too.
      let advanceTo = lastEndSeen;
      if (reachedEnd) advanceTo = max(advanceTo, min(upto, flushed));
      const s = await src.query(
        `SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      if (!s.rowCount)
        throw new ReplicationSlotMissingError(
          `replication slot ${slot} disappeared during the run: drop the sync objects, re-run PrepareTarget and copy from scratch`,
        );
      confirmed = parseLsn(s.rows[0].c);
      if (advanceTo > confirmed) {
        await src
          .query(`SELECT pg_replication_slot_advance($1, $2::pg_lsn)`, [slot, formatLsn(advanceTo)])
          .catch((e) => {
            throw mapPeekError(e, slot);
          });
        confirmed = advanceTo;
      }
      // (On an error the connection is closed, which releases the lock too.)
      await src.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [slotLockName(slot)]);
      caughtUp = reachedEnd && max(position, confirmed) >= min(upto, flushed);
      sourceLsn = parseLsn((await src.query(`SELECT pg_current_wal_insert_lsn()::text AS l`)).rows[0].l);
      const p = progress();
      opts.onProgress?.(p);

      const applied = max(position, confirmed);
      if (drainTo !== null && applied >= drainTo) break;
      if (opts.untilLagBytes !== undefined && reachedEnd && p.lagBytes < opts.untilLagBytes) break;
      if (opts.maxMs !== undefined && Date.now() - started >= opts.maxMs) break;
      if (opts.signal?.aborted) break;
      if (reachedEnd && rows === 0) await sleep(opts.pollMs ?? 100, opts.signal);
    }
    const p = progress();
    return {
      slot,
      direction: opts.direction,
      transactions,
      inserted: applier.counts.inserted,
      updated: applier.counts.updated,
      deleted: applier.counts.deleted,
      alreadyApplied,
      loopSkipped,
      conflicts: applier.counts.conflicts,
      appliedLsn: p.appliedLsn,
      sourceLsn: p.sourceLsn,
      lagBytes: p.lagBytes,
      lagSeconds: p.lagSeconds,
      caughtUp,
      loopGuard,
      batches,
    };
  } finally {
    await src.end().catch(() => undefined);
    await dst?.end().catch(() => undefined);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
