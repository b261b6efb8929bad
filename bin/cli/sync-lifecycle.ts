import type { Client } from 'pg';
import { type DbEndpoint, endpointLabel, META_SCHEMA, withClient } from '../../lambda/engine';
import { SwitchyardError } from '../../lambda/core/errors';
import { qi, ql } from '../../lambda/engine/sql';
import {
  assertNoKeylessBack,
  createSync,
  moveSequencesPast,
  parseLsn,
  runSync,
  syncNames,
} from '../../lambda/engine/sync';
import { insertPosition } from '../../lambda/engine/sync/positions';
import { CliError, SourceNotFencedError, SyncNotCaughtUpError } from './errors';
import { recordedFullIdentity, resetFullIdentity } from './source-identity';
import { endpoints, specNameOf, type SyncConnectOptions, syncMigrationId } from './sync-connect';
import { line, type SyncCommandIo, type SyncPlan, sameFlags, syncPlan } from './sync';

/**
 * The lifecycle of a `switchyard sync` after its start: `status`, `switchover` and `cleanup`.
 * Each finds its objects by the migration id of (source, target, spec name).
 */

async function ids(o: SyncConnectOptions) {
  const { source, target } = endpoints(o);
  return { source, target, migrationId: syncMigrationId(source, target, specNameOf(o)) };
}

async function wrap(io: SyncCommandIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SwitchyardError || e instanceof CliError) {
      line(io.stderr, `error ${e.name}: ${e.message}`);
      return e instanceof CliError ? e.exitCode : 1;
    }
    throw e;
  }
}

const missingTable = (e: { code?: string }) => e.code === '42P01' || e.code === '3F000';

/** `sync status`: slot, retained WAL, lag, last applied position and conflicts, for both directions. */
export async function syncStatusCommand(o: SyncConnectOptions, io: SyncCommandIo): Promise<number> {
  return wrap(io, async () => {
    const { source, target, migrationId } = await ids(o);
    line(io.stdout, `sync ${migrationId}: ${endpointLabel(source)} -> ${endpointLabel(target)}`);
    for (const [dir, from, to] of [
      ['forward', source, target],
      ['reverse', target, source],
    ] as const) {
      const { slot } = syncNames(migrationId, dir);
      const s = await withClient(from, { readOnly: true, applicationName: 'switchyard-status' }, (c) =>
        c.query(
          `SELECT s.active, s.wal_status, s.confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
                  (pg_current_wal_lsn() - s.restart_lsn)::bigint AS retained, (pg_current_wal_lsn() - s.confirmed_flush_lsn)::bigint AS lag
             FROM pg_replication_slots s WHERE s.slot_name = $1`,
          [slot],
        ),
      );
      const applied = await withClient(to, { readOnly: true, applicationName: 'switchyard-status' }, async (c) => {
        const p = await c
          .query(
            `SELECT lsn::text AS lsn, commit_time, applied_at,
                    (SELECT count(*)::int FROM ${META_SCHEMA}.conflicts WHERE slot_name = $1) AS conflicts
               FROM ${META_SCHEMA}.sync_position WHERE slot_name = $1`,
            [slot],
          )
          .catch((e) => (missingTable(e) ? { rows: [] } : Promise.reject(e)));
        return p.rows[0] as { lsn: string; commit_time: Date | null; applied_at: Date; conflicts: number } | undefined;
      });
      if (!s.rowCount) {
        if (dir === 'forward')
          line(io.stdout, `${dir}: no slot ${slot} on ${endpointLabel(from)} (not started, or cleaned up)`);
        continue;
      }
      const r = s.rows[0];
      line(
        io.stdout,
        `${dir}: slot ${slot} ${r.active ? 'active' : 'inactive'} (wal_status ${r.wal_status}), retains ${r.retained ?? 0} bytes of WAL; ` +
          `confirmed ${r.confirmed}, source at ${r.current}, lag ${r.lag ?? 0} bytes; ` +
          (applied
            ? `last applied ${applied.lsn} (commit ${applied.commit_time?.toISOString() ?? '-'}, applied ` +
              `${applied.applied_at.toISOString()}), ${applied.conflicts} conflict(s)`
            : 'no change applied yet'),
      );
    }
    return 0;
  });
}

/** Drop the Switchyard objects of one database: what `sync cleanup` removes there. */
async function cleanupDatabase(c: Client, migrationId: string, asSource: boolean): Promise<string[]> {
  const done: string[] = [];
  // A fenced source (switchover) is read-only by default: this session writes anyway.
  await c.query('SET default_transaction_read_only = off');
  const own = await c.query(
    `SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
      WHERE d.datname = current_database() AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        AND 'default_transaction_read_only=off' = ANY(s.setconfig)`,
  );
  if (own.rowCount) {
    await c.query(
      `ALTER ROLE CURRENT_USER IN DATABASE ${qi(String((await c.query('SELECT current_database() AS d')).rows[0].d))} RESET default_transaction_read_only`,
    );
    done.push('the reverse sync login setting default_transaction_read_only = off');
  }
  for (const dir of ['forward', 'reverse'] as const) {
    const { slot, publication, origin } = syncNames(migrationId, dir);
    const readsHere = (dir === 'forward') === asSource;
    if (readsHere) {
      const s = await c.query(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      if (s.rows[0]?.active_pid)
        throw new SourceNotFencedError(
          `replication slot ${slot} is in use: stop the running \`switchyard sync\`, then run cleanup again`,
        );
      if (s.rowCount) {
        await c.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
        done.push(`slot ${slot}`);
      }
      const p = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
      if (p.rowCount) {
        await c.query(`DROP PUBLICATION ${qi(publication)}`);
        done.push(`publication ${publication}`);
      }
    }
    const o = await c.query(
      `SELECT 1 FROM pg_replication_origin WHERE roname = $1 AND has_function_privilege('pg_replication_origin_drop(text)', 'execute')`,
      [origin],
    );
    if (o.rowCount) {
      await c.query(`SELECT pg_replication_origin_drop(${ql(origin)})`);
      done.push(`replication origin ${origin}`);
    }
  }
  {
    const schema = await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [META_SCHEMA]);
    if (schema.rowCount) {
      // Another migration's position still here: keep the bookkeeping.
      const others = await c
        .query(`SELECT count(*)::int AS n FROM ${META_SCHEMA}.sync_position WHERE slot_name NOT LIKE $1`, [
          `sy_${migrationId}%`,
        ])
        .catch((e) => (missingTable(e) ? { rows: [{ n: 0 }] } : Promise.reject(e)));
      if (others.rows[0].n === 0) {
        await c.query(`DROP SCHEMA ${META_SCHEMA} CASCADE`);
        done.push(`schema ${META_SCHEMA} (bookkeeping)`);
      } else {
        await c.query(`DELETE FROM ${META_SCHEMA}.sync_position WHERE slot_name LIKE $1`, [`sy_${migrationId}%`]);
        done.push(`sync positions of ${migrationId} (other migrations keep schema ${META_SCHEMA})`);
      }
    }
  }
  return done;
}

/**
 * `sync cleanup`: drops the slots, publications, replication origins and bookkeeping of this
 * sync on both databases. Idempotent; refuses while a sync still reads from the slot.
 */
export async function syncCleanupCommand(o: SyncConnectOptions, io: SyncCommandIo): Promise<number> {
  return wrap(io, async () => {
    const { source, target, migrationId } = await ids(o);
    // Recorded on the target (its bookkeeping goes below): the source tables the sync set to FULL.
    const fullIdentity = await recordedFullIdentity(target, migrationId);
    for (const [db, asSource] of [
      [source, true],
      [target, false],
    ] as const) {
      const done = await withClient(db, { applicationName: 'switchyard-cleanup' }, async (c) => {
        const dropped = await cleanupDatabase(c, migrationId, asSource);
        if (!asSource) return dropped;
        const reset = await resetFullIdentity(c, fullIdentity);
        return [
          ...dropped,
          ...(reset.length ? [`REPLICA IDENTITY FULL (back to DEFAULT) on ${reset.join(', ')}`] : []),
        ];
      });
      line(
        io.stdout,
        `${asSource ? 'source' : 'target'} ${endpointLabel(db)}: ${done.length ? `dropped ${done.join(', ')}` : 'nothing of this sync left'}`,
      );
    }
    return 0;
  });
}

/** The tables the running sync publishes (the ones it was started with), so switchover introspects the same set. */
async function publishedTables(o: SyncConnectOptions): Promise<string[] | undefined> {
  if (o.spec) return undefined;
  const { source, migrationId } = await ids(o);
  const { publication } = syncNames(migrationId, 'forward');
  const r = await withClient(source, { readOnly: true, applicationName: 'switchyard-switchover' }, (c) =>
    c.query(
      // Not the bookkeeping schema: on a server without logical messages (13) the loop marker table is published too.
      `SELECT format('%s.%s', schemaname, tablename) AS t FROM pg_publication_tables
        WHERE pubname = $1 AND schemaname <> $2 ORDER BY 1`,
      [publication, META_SCHEMA],
    ),
  );
  if (!r.rowCount)
    throw new SyncNotCaughtUpError(
      `no publication ${publication} on the source: start the sync first (switchyard sync ${sameFlags(o)})`,
    );
  return r.rows.map((x) => x.t as string);
}

export interface SwitchoverOptions extends SyncConnectOptions {
  /** Lag (bytes) the sync must be under before the source is fenced. @default 16 MiB */
  readonly maxLagBytes?: number;
  /** How long to wait for that lag. @default 600 s */
  readonly waitSeconds?: number;
  /** Then follow the target's changes back into the source (a rollback window) until Ctrl-C. @default false */
  readonly reverse?: boolean;
}

/**
 * The rollback window after a switchover: the target's changes flow back into the read-only
 * source. This login's own sessions on the source stay writable (a role-in-database setting,
 * which wins over the database's), the application's stay read-only; the reverse slot starts at
 * the switchover position. Runs until `io.signal` aborts, then drains. Conflicts are not
 * resolved by commit time here: only the target takes writes after the fence.
 */
async function followBack(plan: SyncPlan, io: SyncCommandIo): Promise<void> {
  const { spec, source, target, migrationId } = plan;
  await withClient(source, { applicationName: 'switchyard-switchover' }, async (c) => {
    await c.query('SET default_transaction_read_only = off');
    await c.query(`ALTER ROLE CURRENT_USER IN DATABASE ${qi(source.database)} SET default_transaction_read_only = off`);
  });
  const created = await createSync(target, spec, migrationId, 'reverse');
  line(
    io.stderr,
    `reverse sync: slot ${created.slot} on the target; following the target's changes back until Ctrl-C ...`,
  );
  const back = { migrationId, direction: 'reverse' as const, spec, source: target, target: source, conflicts: false };
  const r = await runSync({ ...back, signal: io.signal });
  const drained = await runSync(back);
  line(
    io.stdout,
    `reverse sync: ${r.transactions + drained.transactions} transaction(s) returned to the source, applied up to ${drained.appliedLsn}`,
  );
}

/** Make the source database read-only for new transactions and end the sessions that could still write. */
async function fenceSource(source: DbEndpoint, io: SyncCommandIo): Promise<string> {
  return withClient(source, { applicationName: 'switchyard-switchover' }, async (c) => {
    await c.query(`ALTER DATABASE ${qi(source.database)} SET default_transaction_read_only = on`);
    // Sessions this login may signal (its own role's, or any non-superuser's with pg_signal_backend); CASE keeps the order.
    const ended = await c.query(
      `SELECT pid FROM (
         SELECT a.pid, CASE WHEN NOT r.rolsuper AND (pg_has_role(a.usesysid, 'MEMBER') OR pg_has_role('pg_signal_backend', 'MEMBER'))
                            THEN pg_terminate_backend(a.pid) ELSE false END AS ended
           FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
          WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
            AND a.application_name NOT LIKE 'switchyard%') x WHERE ended`,
    );
    const left = await c.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          AND application_name NOT LIKE 'switchyard%'`,
    );
    // Sessions of roles we may not signal: wait for their write transactions to end, up to a minute.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const w = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND backend_type = 'client backend' AND backend_xid IS NOT NULL AND application_name NOT LIKE 'switchyard%'`,
      );
      if (w.rows[0].n === 0) break;
      if (Date.now() > deadline)
        throw new SourceNotFencedError(
          `${w.rows[0].n} session(s) on the source still hold write transactions and cannot be ended by this ` +
            `login: end them (pg_terminate_backend as their owner), then run switchover again`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    line(
      io.stderr,
      `source ${endpointLabel(source)} is read-only for new transactions (default_transaction_read_only = on); ended ${ended.rowCount} session(s)` +
        (left.rows[0].n ? `; ${left.rows[0].n} session(s) of other roles remain (new transactions read-only)` : ''),
    );
    // The insert position, not the write position: with asynchronous commit a transaction the
    // source acknowledged before the fence may not be written yet, and the drain must include it.
    return insertPosition(c);
  });
}

/**
 * `sync switchover` (no AWS): wait until the lag is under `maxLagBytes`, make the source
 * read-only, drain to zero, give the target the source's exact constraint definitions
 * (finishStatements), move the target's sequences past the source's values and print the
 * exact position. The slot and publication stay until `sync cleanup`.
 */
export async function syncSwitchoverCommand(o: SwitchoverOptions, io: SyncCommandIo): Promise<number> {
  return wrap(io, async () => {
    const plan = await syncPlan({ ...o, tables: await publishedTables(o) });
    const { spec, source, target, migrationId } = plan;
    if (o.reverse) assertNoKeylessBack(spec);
    const base = { migrationId, direction: 'forward' as const, spec, source, target };
    const maxLag = o.maxLagBytes ?? 16 * 1024 * 1024;
    const deadline = Date.now() + (o.waitSeconds ?? 600) * 1000;
    for (;;) {
      const r = await runSync({ ...base, untilLagBytes: maxLag, maxMs: 30_000, signal: io.signal });
      line(io.stderr, `lag ${r.lagBytes} bytes (switchover below ${maxLag})`);
      if (r.lagBytes < maxLag) break;
      if (io.signal.aborted || Date.now() > deadline)
        throw new SyncNotCaughtUpError(
          `the sync is still ${r.lagBytes} bytes behind (limit ${maxLag}): nothing was changed; run switchover again later or raise --max-lag-bytes`,
        );
    }
    const fencedAt = await fenceSource(source, io);
    const drained = await runSync({ ...base, untilLsn: fencedAt });
    if (parseLsn(drained.appliedLsn) < parseLsn(fencedAt))
      throw new SyncNotCaughtUpError(
        `the drain stopped at ${drained.appliedLsn}, before the fence position ${fencedAt}: run switchover again (the source stays read-only)`,
      );
    await withClient(target, { applicationName: 'switchyard-switchover' }, async (c) => {
      await c.query('BEGIN');
      for (const s of plan.finishStatements) await c.query(s);
      await c.query('COMMIT');
    });
    const moves = await moveSequencesPast(spec, { old: source, new: target }, { moving: 'new' });
    line(
      io.stdout,
      `switchover: source fenced at ${fencedAt}; applied up to ${drained.appliedLsn} (every write committed before the fence); ` +
        `${plan.finishStatements.length} constraint/identity definition(s) finished; ${moves.length} sequence(s) moved past the source`,
    );
    if (o.reverse) await followBack(plan, io);
    line(
      io.stdout,
      `point the application at ${endpointLabel(target)}. The source stays read-only (to reopen: ALTER DATABASE ` +
        `${qi(source.database)} RESET default_transaction_read_only); ` +
        `its slot and publication stay until: switchyard sync cleanup ${sameFlags(o)}`,
    );
    return 0;
  });
}
