import type { Client } from 'pg';
import { type DbEndpoint, withClient } from './db';
import { SchemaMismatchError } from './errors';
import { qi } from './sql';

/**
 * What an introspected target schema needs before its CREATE TABLE statements can run: the
 * extensions whose types and functions the source tables use (a `citext` column, a
 * `uuid_generate_v4()` default, a `gin_trgm_ops` index), and the source's own functions their
 * defaults, constraints and indexes call. Read from the source's catalog (pg_depend), checked on
 * the target, before `switchyard sync` creates anything.
 */

export interface TableDependencies {
  /** Extensions the tables use, with the schema they live in on the source. */
  readonly extensions: readonly { name: string; schema: string }[];
  /** User functions (`schema.name(args)`) the tables' defaults, constraints or indexes call. */
  readonly functions: readonly { signature: string; usedBy: string }[];
}

/** Objects the tables' columns, defaults, constraints and indexes refer to, with what refers to them. */
const REFS = `
WITH tbl AS (SELECT to_regclass(x) AS oid FROM unnest($1::text[]) x),
refs AS (
  SELECT 'pg_type'::regclass AS classid, coalesce(nullif(t.typelem, 0::oid), t.oid) AS objid,
         format('column %s.%I', a.attrelid::regclass, a.attname) AS used_by
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
   WHERE a.attrelid IN (SELECT oid FROM tbl) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT d.refclassid, d.refobjid, format('default of %s.%I', ad.adrelid::regclass, a.attname)
    FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
   WHERE ad.adrelid IN (SELECT oid FROM tbl)
  UNION ALL
  SELECT d.refclassid, d.refobjid, format('constraint %I on %s', k.conname, k.conrelid::regclass)
    FROM pg_constraint k JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = k.oid
   WHERE k.conrelid IN (SELECT oid FROM tbl)
  UNION ALL
  SELECT d.refclassid, d.refobjid, format('index %s', i.indexrelid::regclass)
    FROM pg_index i JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
   WHERE i.indrelid IN (SELECT oid FROM tbl))`;

const EXTENSIONS = `${REFS}
SELECT DISTINCT e.extname::text AS name, n.nspname::text AS schema
  FROM refs r JOIN pg_depend x ON x.classid = r.classid AND x.objid = r.objid AND x.deptype = 'e'
   AND x.refclassid = 'pg_extension'::regclass
  JOIN pg_extension e ON e.oid = x.refobjid JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname <> 'plpgsql' ORDER BY 1`;

const FUNCTIONS = `${REFS}
SELECT p.oid::regprocedure::text AS signature, min(r.used_by) AS "usedBy"
  FROM refs r JOIN pg_proc p ON r.classid = 'pg_proc'::regclass AND p.oid = r.objid
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_proc'::regclass AND x.objid = p.oid AND x.deptype = 'e')
 GROUP BY 1 ORDER BY 1`;

/** The extensions and user functions the source tables (`schema.table`) depend on. Read-only. */
export async function tableDependencies(c: Client, tables: readonly string[]): Promise<TableDependencies> {
  // Names come back schema-qualified whatever the login's search_path.
  await c.query(`SELECT set_config('search_path', 'pg_catalog', false)`);
  const qualified = tables.map(qi);
  const extensions = (await c.query(EXTENSIONS, [qualified])).rows;
  const functions = (await c.query(FUNCTIONS, [qualified])).rows;
  return { extensions, functions };
}

/**
 * Give the target what the tables need before the sync creates anything: refuses with
 * SchemaMismatchError, naming every one, when a user function is missing on the target (nothing
 * created) or an extension cannot be created; creates each missing extension (CREATE EXTENSION IF
 * NOT EXISTS, in the source's schema: trusted extensions such as citext, pgcrypto and uuid-ossp
 * need only database ownership). Returns the extensions it created.
 */
export async function ensureTargetDependencies(
  source: DbEndpoint,
  target: DbEndpoint,
  tables: readonly string[],
): Promise<string[]> {
  const deps = await withClient(source, { readOnly: true, applicationName: 'switchyard-sync' }, (c) =>
    tableDependencies(c, tables),
  );
  return withClient(target, { applicationName: 'switchyard-sync' }, async (c) => {
    const problems: string[] = [];
    for (const f of deps.functions) {
      const r = await c.query(`SELECT to_regprocedure($1) IS NOT NULL AS e`, [f.signature]);
      if (!r.rows[0].e)
        problems.push(`function ${f.signature} (used by the ${f.usedBy}) is missing: create it on the target`);
    }
    const created: string[] = [];
    for (const e of problems.length ? [] : deps.extensions) {
      if ((await c.query(`SELECT 1 FROM pg_extension WHERE extname = $1`, [e.name])).rowCount) continue;
      try {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${qi(e.schema)}`);
        await c.query(`CREATE EXTENSION IF NOT EXISTS ${qi(e.name)} SCHEMA ${qi(e.schema)}`);
        created.push(`${e.name} (schema ${e.schema})`);
      } catch (err) {
        problems.push(
          `extension ${e.name} could not be created (${(err as Error).message}): run CREATE EXTENSION ` +
            `${qi(e.name)} SCHEMA ${qi(e.schema)} on the target as a user allowed to`,
        );
      }
    }
    if (problems.length)
      throw new SchemaMismatchError(
        `the target lacks what the source tables use (no slot, publication or table was created` +
          `${created.length ? `; created extension(s) ${created.join(', ')}` : ''}):\n  - ${problems.join('\n  - ')}`,
      );
    return created;
  });
}
