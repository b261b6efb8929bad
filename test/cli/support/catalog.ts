import { syncMigrationId } from '../../../bin/cli/sync-connect';
import type { DbEndpoint } from '../../../lambda/engine';
import { query } from '../../support/pg';

/**
 * Catalog snapshots for comparing two databases without pg_dump: what an application sees of
 * the schema `public` (columns, defaults, constraints, indexes, sequences, comments, enums),
 * and every object Switchyard could leave behind.
 */
export async function schemaSnapshot(db: DbEndpoint): Promise<Record<string, unknown[]>> {
  const q = (sql: string) => query(db, sql);
  return {
    columns: await q(
      `SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
              pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS identity, a.attgenerated AS generated,
              col_description(c.oid, a.attnum) AS comment
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2`,
    ),
    tables: await q(
      `SELECT relname AS t, obj_description(oid, 'pg_class') AS comment FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY 1`,
    ),
    constraints: await q(
      `SELECT conrelid::regclass::text AS t, conname AS name, contype AS type, pg_get_constraintdef(oid) AS def,
              condeferrable, condeferred, convalidated
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n' ORDER BY 1, 2`,
    ),
    indexes: await q(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`),
    sequences: await q(
      `SELECT s.sequencename, s.data_type::text, s.start_value::text, s.increment_by::text, s.max_value::text, s.cache_size::text, s.cycle,
              (SELECT format('%s.%s', d.refobjid::regclass, a.attname) FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass AND d.deptype IN ('a', 'i')) AS owned_by
         FROM pg_sequences s WHERE s.schemaname = 'public' ORDER BY 1`,
    ),
    enums: await q(
      `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE t.typnamespace = 'public'::regnamespace GROUP BY 1 ORDER BY 1`,
    ),
  };
}

/** The names `switchyard sync` (no spec) gives its slot, publication and origin for this pair of databases. */
export function cliSyncPrefix(source: DbEndpoint, target: DbEndpoint): string {
  return `sy_${syncMigrationId(source, target, 'cli-sync')}`;
}

/**
 * Every object a sync could create in a database or its cluster (origins only with `idPrefix`,
 * the sync's name prefix): schemas, relations, functions, triggers, publications, slots, origins,
 * database settings. Replica identity is left out (see --allow-full-identity).
 */
export async function switchyardFootprint(db: DbEndpoint, idPrefix?: string): Promise<Record<string, unknown[]>> {
  const q = (sql: string, p: unknown[] = []) => query(db, sql, p);
  return {
    schemas: await q(`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' ORDER BY 1`),
    relations: await q(
      `SELECT c.oid::regclass::text AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`,
    ),
    functions: await q(
      `SELECT p.oid::regprocedure::text AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    ),
    triggers: await q(
      `SELECT tgrelid::regclass::text AS t, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`,
    ),
    publications: await q(`SELECT pubname FROM pg_publication ORDER BY 1`),
    slots: await q(`SELECT slot_name FROM pg_replication_slots WHERE database = current_database() ORDER BY 1`),
    // Origins are cluster-wide (other databases' syncs share the server): only this sync's, when named.
    ...(idPrefix
      ? {
          origins: await q(`SELECT roname FROM pg_replication_origin WHERE roname LIKE $1 ORDER BY 1`, [
            `${idPrefix}%`,
          ]),
        }
      : {}),
    settings: await q(
      `SELECT unnest(setconfig) AS s FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`,
    ),
  };
}
