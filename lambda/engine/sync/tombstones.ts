import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import { describe } from '../errors';
import { META_SCHEMA } from '../prepare';
import type { MigrationSpec } from '../spec';
import { targetKey, targetRelation } from '../spec';
import { qi, ql } from '../sql';
import { ensureSyncBookkeeping } from './bookkeeping';
import { ReplicationNotConfiguredError } from './errors';
import { type Direction, tombstoneFunctionName, tombstoneTriggerName } from './names';
import { directedTableSpec } from './reverse';

/*
 * Tombstones: "key K of table T was deleted LOCALLY, by transaction X" on the side a direction
 * writes into, so that an incoming change for a key the destination no longer has can be
 * weighed against the local delete's commit time (later commit wins, conflicts.ts).
 *
 * Written by a statement-level AFTER DELETE trigger (transition table, one INSERT per DELETE
 * statement) that the sync installs on every table a direction writes:
 * - the reverse capture (before the first traffic step) installs it on both sides (old: the
 *   reverse direction's tables, new: the forward direction's), and every runSync with conflict
 *   detection on makes sure its destination has it;
 * - it records the table's oid, the key columns' text (the canonical session settings, as the
 *   sync renders keys; no other column) and pg_current_xact_id(); the commit time is looked up
 *   (pg_xact_commit_timestamp) when a conflict is weighed, so it is the delete's real commit time;
 * - deletes the sync applies itself are not recorded (the applier sets switchyard.applying for its
 *   transaction): they come from the same source as every later incoming change of that key, in
 *   commit order, so like rows in applied_xacts they never outweigh an incoming change;
 * - SECURITY DEFINER (owned by the migration login, search_path pinned): the app's role needs no
 *   privilege on the bookkeeping schema;
 * - installed by the migration login, which owns the tables (the table-ownership precondition) or
 *   holds TRIGGER on them; dropSync of the direction drops the triggers and their functions, deletes
 *   the tombstones of those tables, and drops the table once no tombstone trigger is left.
 *
 * Why a trigger and not the other direction's stream: the local delete also travels through this
 * side's own outgoing slot, where its commit time is known, but that slot is read by the OTHER
 * direction's applier, on its own schedule; the incoming change can be applied before that applier
 * has decoded the delete, and waiting for it would tie the two directions together (and stall when
 * only one runs, as in a rollback's drain). The trigger records the delete in the deleting
 * transaction itself, so the tombstone is there exactly when the row is gone.
 */

/** Set (transaction-local) by the applier: the tombstone triggers do not record the sync's own deletes. */
export const APPLYING_SETTING = 'switchyard.applying';

/** The canonical session settings (db.ts), pinned on the trigger function so keys render as the sync renders them. */
const FUNCTION_SETTINGS =
  `SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' SET IntervalStyle = ` +
  `'postgres' SET extra_float_digits = 1 SET bytea_output = 'hex'`;

export interface TombstoneTable {
  /** Schema-qualified table a direction writes (its destination table). */
  readonly relation: string;
  /** Its key columns (the spec's target key for forward, the spec key for reverse). */
  readonly key: readonly string[];
}

/** The tables a direction writes, with their key columns: where local deletes must leave tombstones. */
export function tombstoneTables(spec: MigrationSpec, direction: Direction): TombstoneTable[] {
  const out: TombstoneTable[] = [];
  for (const t of spec.tables) {
    const d = directedTableSpec(t, direction);
    // A keyless table is synced forward only, without conflict detection: no key to leave a tombstone of.
    if (!d || !('table' in d.source) || d.keyless) continue;
    out.push({ relation: targetRelation(d), key: targetKey(d) });
  }
  return out;
}

function marker(migrationId: string, direction: Direction): string {
  return `switchyard tombstones ${tombstoneTriggerName(migrationId, direction)}`;
}

/** Each attempt at a trigger DDL waits at most this long for the table's lock: the app's queries queue behind a waiting DDL. */
const LOCK_TIMEOUT_MS = 2_000;
const LOCK_ATTEMPTS = 15;

/**
 * One short transaction holding the tombstone advisory lock, with a short lock_timeout; retried on
 * a lock timeout (55P03), so that a long app transaction never makes the app's own queries queue
 * behind the DDL for more than LOCK_TIMEOUT_MS at a time.
 */
async function shortDdl<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await c.query('BEGIN');
    try {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard:tombstones'))`);
      await c.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT_MS}ms'`);
      const out = await fn();
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      if ((e as { code?: string }).code !== '55P03' || attempt >= LOCK_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/**
 * Make sure every table of `tables` (on the connected database) has the direction's tombstone
 * trigger; creates the missing ones, one table per short transaction (CREATE TRIGGER takes SHARE
 * ROW EXCLUSIVE on the table: the app's writes wait for it). Needs the bookkeeping schema
 * (ensureSyncBookkeeping). Returns how many triggers were created.
 */
export async function ensureTombstoneTriggers(
  c: Client,
  tables: readonly TombstoneTable[],
  migrationId: string,
  direction: Direction,
): Promise<number> {
  if (!tables.length) return 0;
  const trigger = tombstoneTriggerName(migrationId, direction);
  const have = await c.query(
    `SELECT r AS relation, EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass(r)) AS ok FROM unnest($2::text[]) AS r`,
    [trigger, tables.map((t) => qi(t.relation))],
  );
  const missing = tables.filter((_t, i) => have.rows[i].ok !== true);
  let created = 0;
  for (const t of missing) {
    try {
      created += await shortDdl(c, async () => {
        const again = await c.query(`SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)`, [
          trigger,
          qi(t.relation),
        ]);
        if (again.rowCount) return 0;
        const fn = `${META_SCHEMA}.${qi(tombstoneFunctionName(migrationId, direction, t.relation))}`;
        await c.query(
          `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER ${FUNCTION_SETTINGS} AS $sy$
           BEGIN
             IF coalesce(current_setting(${ql(APPLYING_SETTING)}, true), '') <> 'on' THEN
               INSERT INTO ${META_SCHEMA}.tombstones AS tb (table_oid, key, deleted_xid)
                 SELECT TG_RELID, k, pg_current_xact_id() FROM (SELECT DISTINCT ` +
            `ARRAY[${t.key.map((k) => `o.${qi(k)}::text`).join(', ')}] AS k FROM sy_old AS o) AS d
               ON CONFLICT (table_oid, key) DO UPDATE SET deleted_xid = EXCLUDED.deleted_xid, commit_time = NULL, recorded_at = now();
             END IF;
             RETURN NULL;
           END $sy$`,
        );
        await c.query(`COMMENT ON FUNCTION ${fn}() IS ${ql(marker(migrationId, direction))}`);
        await c.query(
          `CREATE TRIGGER ${qi(trigger)} AFTER DELETE ON ${qi(t.relation)} REFERENCING OLD TABLE AS sy_old FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
        );
        return 1;
      });
    } catch (e) {
      throw new ReplicationNotConfiguredError(
        `cannot install the tombstone trigger ${trigger} on ${t.relation}: ${describe(e)}. ` +
          `The login must own the table (or hold TRIGGER on it) and own the ${META_SCHEMA} schema; a lock ` +
          `timeout means long transactions kept the table busy: retry`,
        { cause: e },
      );
    }
  }
  return created;
}

/** Install the tombstone triggers of `direction` on its destination `db` (the reverse capture does both sides). */
export async function installTombstones(
  db: DbEndpoint,
  spec: MigrationSpec,
  migrationId: string,
  direction: Direction,
): Promise<number> {
  return withClient(db, { applicationName: 'switchyard-sync' }, async (c) => {
    await ensureSyncBookkeeping(c);
    return ensureTombstoneTriggers(c, tombstoneTables(spec, direction), migrationId, direction);
  });
}

/**
 * Drop the direction's tombstone triggers and functions on the connected database (one table per
 * short transaction: DROP TRIGGER takes ACCESS EXCLUSIVE on the table), delete the tombstones of
 * those tables (and of tables that no longer exist), and drop the tombstones table once no
 * tombstone trigger is left. Idempotent. Returns how many triggers were dropped.
 */
export async function dropTombstones(c: Client, migrationId: string, direction: Direction): Promise<number> {
  const trigger = tombstoneTriggerName(migrationId, direction);
  const t = await c.query(`SELECT tgrelid::oid AS oid FROM pg_trigger WHERE tgname = $1`, [trigger]);
  for (const { oid } of t.rows as { oid: number }[]) {
    await shortDdl(c, async () => {
      const rel = await c.query(
        `SELECT $1::oid::regclass::text AS rel FROM pg_trigger WHERE tgname = $2 AND tgrelid = $1::oid`,
        [oid, trigger],
      );
      if (rel.rowCount) await c.query(`DROP TRIGGER IF EXISTS ${qi(trigger)} ON ${rel.rows[0].rel as string}`);
    });
  }
  await shortDdl(c, async () => {
    const fns = await c.query(
      `SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_description d ON d.objoid = p.oid AND ` +
        `d.classoid = 'pg_proc'::regclass WHERE d.description = $1`,
      [marker(migrationId, direction)],
    );
    for (const r of fns.rows as { fn: string }[]) await c.query(`DROP FUNCTION IF EXISTS ${r.fn}`);
    if (!(await c.query(`SELECT to_regclass('${META_SCHEMA}.tombstones') IS NOT NULL AS e`)).rows[0].e) return;
    await c.query(
      `DELETE FROM ${META_SCHEMA}.tombstones AS tb WHERE tb.table_oid = ANY($1::oid[]) OR NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = tb.table_oid)`,
      [t.rows.map((r) => r.oid as number)],
    );
    const left = await c.query(
      `SELECT 1 FROM pg_trigger tg JOIN pg_description d ON d.objoid = tg.tgfoid AND d.classoid = ` +
        `'pg_proc'::regclass WHERE d.description LIKE 'switchyard tombstones %' LIMIT 1`,
    );
    if (!left.rowCount) await c.query(`DROP TABLE ${META_SCHEMA}.tombstones`);
  });
  return t.rowCount ?? 0;
}
