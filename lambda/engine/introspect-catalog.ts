import type { Client } from 'pg';

/**
 * Catalog queries of the source that `introspect.ts` builds the target schema from. Every
 * query runs with `search_path = pg_catalog`, so names and expressions (`nextval('public.x_seq')`,
 * `REFERENCES public.parent(id)`) come back schema-qualified. Read-only.
 */

export interface CatalogColumn {
  readonly name: string;
  readonly num: number;
  readonly type: string;
  readonly notnull: boolean;
  /** Expression of a stored generated column. */
  readonly generated: string | null;
  /** Default expression (not of a generated column). */
  readonly default: string | null;
  /** 'a' GENERATED ALWAYS, 'd' BY DEFAULT, '' none. */
  readonly identity: string;
  /** Qualified collation when it differs from the type's default. */
  readonly collation: string | null;
  readonly comment: string | null;
  /** Type oid (array: element type oid), to find enum types. */
  readonly elementType: number;
}

export interface CatalogConstraint {
  readonly name: string;
  /** p primary key, u unique, c check, x exclusion, f foreign key. */
  readonly type: 'p' | 'u' | 'c' | 'x' | 'f';
  readonly definition: string;
  readonly deferrable: boolean;
  /** Referenced table of a foreign key, `schema.table`. */
  readonly references: string | null;
  /** Columns of a primary key or unique constraint. */
  readonly columns: string[] | null;
}

export interface CatalogTable {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly partitioned: boolean;
  /** relreplident: d default, n nothing, f full, i index. */
  readonly replicaIdentity: string;
  readonly comment: string | null;
  readonly pk: string[] | null;
  readonly cols: CatalogColumn[];
  readonly constraints: CatalogConstraint[];
  /** CREATE INDEX statements of indexes that back no constraint. */
  readonly indexes: string[];
  /** Columns of unique, non-partial, plain-column indexes over NOT NULL columns (the replica identity index first). */
  readonly uniqueNotNull: string[][];
}

export interface CatalogSequence {
  readonly name: string;
  readonly type: string;
  readonly start: string;
  readonly increment: string;
  readonly min: string;
  readonly max: string;
  readonly cache: string;
  readonly cycle: boolean;
  /** `schema.table` and column owning the sequence (serial and identity columns). */
  readonly ownerTable: string | null;
  readonly ownerColumn: string | null;
  /** True for an identity column's sequence (created by the column itself). */
  readonly identity: boolean;
}

const TABLES = `
SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned, c.relreplident AS replica_identity,
       obj_description(c.oid, 'pg_class') AS comment,
       (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY k(att, ord)
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
       (SELECT json_agg(json_build_object('name', a.attname, 'num', a.attnum, 'type', format_type(a.atttypid, a.atttypmod),
                 'notnull', a.attnotnull,
                 'generated', CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
                 'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
                 'identity', a.attidentity,
                 'collation', CASE WHEN a.attcollation <> t.typcollation
                   THEN (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
                           JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
                 'comment', col_description(c.oid, a.attnum),
                 'elementType', coalesce(nullif(t.typelem, 0::oid), t.oid)::int) ORDER BY a.attnum)
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
       (SELECT coalesce(json_agg(json_build_object('name', k.conname, 'type', k.contype, 'definition', pg_get_constraintdef(k.oid),
                 'deferrable', k.condeferrable, 'references', CASE WHEN k.contype = 'f' THEN
                   (SELECT format('%s.%s', rn.nspname, rc.relname) FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                     WHERE rc.oid = k.confrelid) END,
                 'columns', (SELECT array_agg(a.attname::text ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(att, ord)
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.att))
                 ORDER BY k.contype = 'p' DESC, k.conname), '[]')
          FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'c', 'x', 'f') AND k.conislocal) AS constraints,
       (SELECT coalesce(json_agg(pg_get_indexdef(i.indexrelid) ORDER BY ic.relname), '[]')
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid)) AS indexes,
       (SELECT coalesce(json_agg(cols ORDER BY isrepl DESC, name), '[]') FROM (
          SELECT ic.relname AS name, i.indisreplident AS isrepl,
                 (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(att, ord)
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att) AS cols
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
             AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(att) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att
                              WHERE NOT a.attnotnull)) u) AS unique_not_null
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'switchyard')
   AND n.nspname NOT LIKE 'pg\\_%'
 ORDER BY n.nspname, c.relname`;

/** Every user table of the source (partitions folded into their root), with columns, constraints and indexes. */
export async function catalogTables(c: Client): Promise<CatalogTable[]> {
  const r = await c.query(TABLES);
  return r.rows.map((row) => ({
    oid: row.oid,
    schema: row.schema,
    name: row.name,
    partitioned: row.partitioned,
    replicaIdentity: row.replica_identity,
    comment: row.comment,
    pk: row.pk,
    cols: row.cols,
    constraints: row.constraints,
    indexes: row.indexes,
    uniqueNotNull: row.unique_not_null,
  }));
}

/**
 * Sequences the tables use: owned by one of their columns (serial, identity) or named in a
 * column default (`nextval('x')`), with their options.
 */
export async function catalogSequences(c: Client, tableOids: readonly number[]): Promise<CatalogSequence[]> {
  const r = await c.query(
    `WITH used AS (
       SELECT d.objid AS seq, d.refobjid AS tbl, d.refobjsubid AS att, d.deptype FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          AND d.refobjid = ANY($1::oid[]) AND d.refobjsubid > 0
       UNION
       SELECT d.refobjid, NULL, NULL, NULL FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
        WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND ad.adrelid = ANY($1::oid[]))
     SELECT format('%I.%I', n.nspname, sc.relname) AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
            s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache,
            s.seqcycle AS cycle, bool_or(u.deptype = 'i') AS identity,
            max(CASE WHEN u.tbl IS NOT NULL THEN format('%s.%s', tn.nspname, tc.relname) END) AS owner_table,
            max(a.attname::text) AS owner_column
       FROM used u JOIN pg_sequence s ON s.seqrelid = u.seq JOIN pg_class sc ON sc.oid = u.seq
       JOIN pg_namespace n ON n.oid = sc.relnamespace
       LEFT JOIN pg_class tc ON tc.oid = u.tbl LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = u.tbl AND a.attnum = u.att
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1`,
    [tableOids],
  );
  return r.rows.map((row) => ({
    name: row.name,
    type: row.type,
    start: row.start,
    increment: row.increment,
    min: row.min,
    max: row.max,
    cache: row.cache,
    cycle: row.cycle,
    identity: row.identity === true,
    ownerTable: row.owner_table,
    ownerColumn: row.owner_column,
  }));
}

export interface CatalogEnum {
  readonly schema: string;
  readonly name: string;
  readonly labels: string[];
}

/** Enum types among the given type oids (columns and array elements). */
export async function catalogEnums(c: Client, typeOids: readonly number[]): Promise<CatalogEnum[]> {
  const r = await c.query(
    `SELECT n.nspname AS schema, format('%I.%I', n.nspname, t.typname) AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE t.oid = ANY($1::oid[]) GROUP BY n.nspname, t.typname ORDER BY 2`,
    [typeOids],
  );
  return r.rows as CatalogEnum[];
}

export interface CatalogDomain {
  readonly schema: string;
  /** Qualified, quoted name. */
  readonly name: string;
  /** `CREATE DOMAIN` clauses after the name: base type, collation, default, NOT NULL, constraints. */
  readonly definition: string;
  /** Oid of the base type (or its element type), to find enum types it needs. */
  readonly baseType: number;
}

/** Domain types among the given type oids (columns and array elements), in creation order. */
export async function catalogDomains(c: Client, typeOids: readonly number[]): Promise<CatalogDomain[]> {
  const r = await c.query(
    `SELECT n.nspname AS schema, format('%I.%I', n.nspname, t.typname) AS name,
            concat_ws(' ', 'AS ' || format_type(t.typbasetype, t.typtypmod),
              CASE WHEN t.typcollation <> bt.typcollation THEN (SELECT 'COLLATE ' || format('%I.%I', cn.nspname, co.collname)
                FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END,
              'DEFAULT ' || t.typdefault, CASE WHEN t.typnotnull THEN 'NOT NULL' END,
              (SELECT string_agg(format('CONSTRAINT %I %s', k.conname, pg_get_constraintdef(k.oid)), ' ' ORDER BY k.conname)
                 FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c')) AS definition,
            coalesce(nullif(bt.typelem, 0::oid), bt.oid)::int AS "baseType"
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_type bt ON bt.oid = t.typbasetype
      WHERE t.oid = ANY($1::oid[]) AND t.typtype = 'd' ORDER BY t.oid`,
    [typeOids],
  );
  return r.rows as CatalogDomain[];
}

/**
 * What the target schema does not get, by name: triggers, row-level security and policies,
 * grants, views and materialized views, functions and extensions of the source. Read-only.
 */
export async function notCarried(
  c: Client,
  tableOids: readonly number[],
  schemas: readonly string[],
): Promise<string[]> {
  const r = await c.query(
    `SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text AS what FROM pg_trigger
      WHERE NOT tgisinternal AND tgrelid = ANY($1::oid[])
     UNION ALL SELECT 'policy ' || polname || ' on ' || polrelid::regclass::text FROM pg_policy WHERE polrelid = ANY($1::oid[])
     UNION ALL SELECT 'row-level security on ' || oid::regclass::text FROM pg_class WHERE relrowsecurity AND oid = ANY($1::oid[])
     UNION ALL SELECT 'grants on ' || oid::regclass::text FROM pg_class WHERE relacl IS NOT NULL AND oid = ANY($1::oid[])
     UNION ALL SELECT CASE c.relkind WHEN 'v' THEN 'view ' ELSE 'materialized view ' END || c.oid::regclass::text
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($2::text[])
     UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
     UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'
     ORDER BY 1`,
    [tableOids, schemas],
  );
  return r.rows.map((row) => row.what as string);
}
