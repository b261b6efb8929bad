import type { Client } from 'pg';
import { type DbEndpoint, META_SCHEMA, withClient } from '../../lambda/engine';
import { qi } from '../../lambda/engine/sql';

/**
 * The source tables `switchyard sync --allow-full-identity` set to REPLICA IDENTITY FULL, recorded in
 * the target's bookkeeping (nothing more is written on the source) so that `sync cleanup` puts
 * them back to DEFAULT: nothing of Switchyard stays on the source.
 */
const TABLE = `${META_SCHEMA}.source_full_identity`;

/** Record the tables before their identity is changed (a failure in between leaves them recorded, not lost). */
export async function recordFullIdentity(target: DbEndpoint, migrationId: string, tables: readonly string[]) {
  await withClient(target, { applicationName: 'switchyard-sync' }, async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`);
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (migration_id text, relation text, PRIMARY KEY (migration_id, relation))`,
    );
    await c.query(`INSERT INTO ${TABLE} SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [migrationId, tables]);
  });
}

/** The recorded tables of this sync (none when nothing was recorded, or the bookkeeping is gone). */
export async function recordedFullIdentity(target: DbEndpoint, migrationId: string): Promise<string[]> {
  return withClient(target, { readOnly: true, applicationName: 'switchyard-cleanup' }, async (c) => {
    const r = await c
      .query(`SELECT relation FROM ${TABLE} WHERE migration_id = $1 ORDER BY relation`, [migrationId])
      .catch((e: { code?: string }) => (e.code === '42P01' || e.code === '3F000' ? { rows: [] } : Promise.reject(e)));
    return r.rows.map((x) => x.relation as string);
  });
}

/** On the source: back to REPLICA IDENTITY DEFAULT where it is still FULL; returns what was reset. */
export async function resetFullIdentity(c: Client, tables: readonly string[]): Promise<string[]> {
  const reset: string[] = [];
  for (const t of tables) {
    const r = await c.query(`SELECT relreplident AS ri FROM pg_class WHERE oid = to_regclass($1)`, [qi(t)]);
    if (r.rows[0]?.ri !== 'f') continue;
    await c.query(`ALTER TABLE ${qi(t)} REPLICA IDENTITY DEFAULT`);
    reset.push(t);
  }
  return reset;
}
