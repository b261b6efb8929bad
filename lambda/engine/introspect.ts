import { withClient, type DbEndpoint } from './db';
import { SpecError } from './errors';
import { parseSpec, type MigrationSpec } from './spec';
import { qi, ql } from './sql';
import { ReplicaIdentityMissingError } from './sync/errors';

/** The identity spec of the source's tables (the named ones, or all with a primary key), built by introspection. */
export async function introspectIdentitySpec(
  source: DbEndpoint,
  tables?: readonly string[],
  name = 'cli-sync',
): Promise<MigrationSpec> {
  return withClient(source, { readOnly: true, applicationName: 'switchyard-sync' }, async (c) => {
    const r = await c.query(
      `SELECT n.nspname AS schema, c.relname AS name,
              (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
              (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notnull', a.attnotnull,
                        'generated', CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
                        'elementType', coalesce(nullif(t.typelem, 0::oid), t.oid)::int) ORDER BY a.attnum)
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'switchyard') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY n.nspname, c.relname`,
    );
    type Row = {
      schema: string;
      name: string;
      pk: string[] | null;
      cols: { name: string; type: string; notnull: boolean; generated: string | null; elementType: number }[];
    };
    const all = r.rows as Row[];
    const wanted = tables?.length
      ? tables.map((t) => {
          const [schema, name] = t.includes('.') ? t.split('.', 2) : ['public', t];
          const row = all.find((x) => x.schema === schema && x.name === name);
          if (!row) throw new SpecError(`--table ${t}: no such table on the source`);
          if (!row.pk)
            throw new ReplicaIdentityMissingError(
              `--table ${t} has no primary key: give it one (or pass a --spec naming its key) and retry`,
            );
          return row;
        })
      : all.filter((x) => x.pk);
    if (!wanted.length)
      throw new SpecError(
        'the source has no table with a primary key to sync: name tables with --table or pass --spec',
      );
    const schemas = [...new Set(wanted.map((t) => t.schema).filter((s) => s !== 'public'))];
    // Enum types the columns use (also as array elements) are created on the target first; other user types need a --spec.
    const enums = (
      await c.query(
        `SELECT n.nspname AS schema, format('%I.%I', n.nspname, t.typname) AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
          WHERE t.oid = ANY($1::oid[]) GROUP BY n.nspname, t.typname ORDER BY 2`,
        [[...new Set(wanted.flatMap((t) => t.cols.map((col) => col.elementType)))]],
      )
    ).rows as { schema: string; name: string; labels: string[] }[];
    for (const e of enums) if (e.schema !== 'public' && !schemas.includes(e.schema)) schemas.push(e.schema);
    return parseSpec({
      version: 1,
      name,
      targetDdl: [
        ...schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${qi(s)}`),
        ...enums.map(
          (e) =>
            `DO $$ BEGIN CREATE TYPE ${e.name} AS ENUM (${e.labels.map(ql).join(', ')}); EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
        ),
        ...wanted.map((t) => {
          // A stored generated column stays generated on the target (the change stream of PostgreSQL < 18 does not carry it).
          const cols = t.cols.map(
            (col) =>
              `${qi(col.name)} ${col.type}${col.generated ? ` GENERATED ALWAYS AS (${col.generated}) STORED` : col.notnull ? ' NOT NULL' : ''}`,
          );
          return `CREATE TABLE IF NOT EXISTS ${qi(`${t.schema}.${t.name}`)} (${cols.join(', ')}, PRIMARY KEY (${t.pk!.map(qi).join(', ')}))`;
        }),
      ],
      tables: wanted.map((t) => ({
        name: (t.schema === 'public' ? t.name : `${t.schema}_${t.name}`).replace(/[^a-z0-9_-]/gi, '_'),
        source: { table: `${t.schema}.${t.name}` },
        key: t.pk!,
        target: { table: `${t.schema}.${t.name}` },
        columns: Object.fromEntries(
          t.cols
            .filter((col) => !t.pk!.includes(col.name) && !col.generated)
            .map((col) => [col.name, `s.${qi(col.name)}`]),
        ),
      })),
    });
  });
}
