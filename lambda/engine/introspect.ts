import { withClient, type DbEndpoint } from './db';
import { SpecError } from './errors';
import {
  type CatalogSequence,
  type CatalogTable,
  catalogDomains,
  catalogEnums,
  catalogSequences,
  catalogTables,
  notCarried,
} from './introspect-catalog';
import { parseSpec, type MigrationSpec } from './spec';
import { qi, ql } from './sql';
import { ReplicaIdentityMissingError } from './sync/errors';

/**
 * The source's schema as a spec whose `targetDdl` recreates it on the target: tables with
 * their columns (types, collations, defaults, identity and serial sequences, stored generated
 * columns, NOT NULL), primary keys, unique / CHECK / exclusion constraints, foreign keys,
 * secondary indexes (partial and expression ones included), enum types and comments; tables
 * in foreign-key order (parents first: the sync upserts in spec order). A partitioned table
 * becomes one plain table.
 *
 * Two things differ from the source until `finishStatements` runs (`switchyard sync` does at
 * switchover, and at the end of `--once`): a foreign key is created DEFERRABLE INITIALLY
 * DEFERRED (checked at the commit of each applied batch, whose tables are applied in spec
 * order), and a GENERATED ALWAYS identity column is created BY DEFAULT (the sync writes the
 * source's values into it).
 */
export interface IntrospectedSchema {
  readonly spec: MigrationSpec;
  /** Statements that give the target the source's exact definitions (idempotent). */
  readonly finishStatements: readonly string[];
  /** What is not recreated on the target, by name (triggers, policies, grants, views, functions, extensions). */
  readonly notCarried: readonly string[];
  /**
   * Tables without a primary key (synced by another unique key, or keyless: by all their columns) whose
   * source needs REPLICA IDENTITY FULL.
   */
  readonly needFullIdentity: readonly string[];
  /** Tables without any unique key, synced forward only and matched by all their columns (`keyless` in the spec). */
  readonly keyless: readonly string[];
}

export interface IntrospectOptions {
  /** Only these tables (`table` or `schema.table`). @default - every table */
  readonly tables?: readonly string[];
  /** Spec name. @default 'cli-sync' */
  readonly name?: string;
  /**
   * Accept a table without a primary key: when a unique index over NOT NULL columns identifies its
   * rows it is synced by that key; else (no unique key at all: an audit log, duplicates possible) it is
   * synced forward only as a keyless table, its rows matched by all their columns. Either way the
   * caller sets REPLICA IDENTITY FULL on the source. Otherwise such tables are refused by name, all of
   * them, before anything is created. @default false
   */
  readonly allowFullIdentity?: boolean;
}

const label = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

type TableKey = { key: string[]; full: boolean; keyless: boolean } | { problem: string };

/** The key a table is synced by (keyless: all its stored columns), or why it has none. */
function keyOf(t: CatalogTable, allowFull: boolean): TableKey {
  if (t.pk) return { key: t.pk, full: false, keyless: false };
  const unique = t.uniqueNotNull[0];
  // REPLICA IDENTITY USING INDEX, or FULL already set: nothing to write on the source.
  if (unique && (t.replicaIdentity === 'i' || t.replicaIdentity === 'f'))
    return { key: unique, full: false, keyless: false };
  const all = t.cols.filter((col) => !col.generated).map((col) => col.name);
  // FULL already set (by an earlier --allow-full-identity, or by hand): keyless, nothing to write on the source.
  if (!unique && t.replicaIdentity === 'f') return { key: all, full: false, keyless: true };
  if (!unique && !allowFull)
    return { problem: `${label(t)} has no primary key and no unique index over NOT NULL columns (keyless)` };
  if (!allowFull) return { problem: `${label(t)} has no primary key (unique key: ${unique.join(', ')})` };
  if (unique) return { key: unique, full: true, keyless: false };
  return { key: all, full: true, keyless: true };
}

/** Tables ordered parents before children along foreign keys inside the set (cycles keep name order). */
export function foreignKeyOrder(tables: readonly CatalogTable[]): CatalogTable[] {
  const names = new Set(tables.map(label));
  const out: CatalogTable[] = [];
  const done = new Set<string>();
  let rest = [...tables];
  while (rest.length) {
    const ready = rest.filter((t) =>
      t.constraints.every(
        (k) =>
          k.type !== 'f' ||
          !k.references ||
          k.references === label(t) ||
          !names.has(k.references) ||
          done.has(k.references),
      ),
    );
    const next = ready.length ? ready : [rest[0]];
    for (const t of next) {
      out.push(t);
      done.add(label(t));
    }
    rest = rest.filter((t) => !next.includes(t));
  }
  return out;
}

function sequenceOptions(s: CatalogSequence): string {
  return `START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ' NO CYCLE'}`;
}

function columnDdl(t: CatalogTable, col: CatalogTable['cols'][number], seqs: readonly CatalogSequence[]): string {
  let d = `${qi(col.name)} ${col.type}`;
  if (col.collation) d += ` COLLATE ${col.collation}`;
  if (col.generated) return `${d} GENERATED ALWAYS AS (${col.generated}) STORED`;
  if (col.identity) {
    const s = seqs.find((x) => x.identity && x.ownerTable === label(t) && x.ownerColumn === col.name);
    // BY DEFAULT while the sync writes the source's values; finishStatements restores ALWAYS.
    d += ` GENERATED BY DEFAULT AS IDENTITY${s ? ` (SEQUENCE NAME ${s.name} ${sequenceOptions(s)})` : ''}`;
  } else if (col.default) d += ` DEFAULT ${col.default}`;
  return col.notnull ? `${d} NOT NULL` : d;
}

function tableDdl(t: CatalogTable, seqs: readonly CatalogSequence[]): string[] {
  const rel = qi(label(t));
  const parts = [
    ...t.cols.map((col) => columnDdl(t, col, seqs)),
    ...t.constraints.filter((k) => k.type !== 'f').map((k) => `CONSTRAINT ${qi(k.name)} ${k.definition}`),
  ];
  const out = [`CREATE TABLE IF NOT EXISTS ${rel} (${parts.join(', ')})`];
  for (const s of seqs)
    if (!s.identity && s.ownerTable === label(t) && s.ownerColumn)
      out.push(`ALTER SEQUENCE ${s.name} OWNED BY ${rel}.${qi(s.ownerColumn)}`);
  for (const i of t.indexes)
    out.push(i.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS ').replace(' ON ONLY ', ' ON '));
  if (t.comment !== null) out.push(`COMMENT ON TABLE ${rel} IS ${ql(t.comment)}`);
  for (const col of t.cols)
    if (col.comment !== null) out.push(`COMMENT ON COLUMN ${rel}.${qi(col.name)} IS ${ql(col.comment)}`);
  return out;
}

/** Foreign keys inside the set, deferred to commit while the sync applies (see IntrospectedSchema). */
function foreignKeys(tables: readonly CatalogTable[]): { ddl: string[]; finish: string[]; outside: string[] } {
  const names = new Set(tables.map(label));
  const ddl: string[] = [];
  const finish: string[] = [];
  const outside: string[] = [];
  for (const t of tables)
    for (const k of t.constraints.filter((x) => x.type === 'f')) {
      if (!k.references || !names.has(k.references)) {
        outside.push(`foreign key ${k.name} on ${label(t)} (references ${k.references}, not synced)`);
        continue;
      }
      const def = k.deferrable ? k.definition : `${k.definition} DEFERRABLE INITIALLY DEFERRED`;
      ddl.push(
        `DO $sy$ BEGIN ALTER TABLE ${qi(label(t))} ADD CONSTRAINT ${qi(k.name)} ${def}; EXCEPTION WHEN duplicate_object THEN NULL; END $sy$`,
      );
      if (!k.deferrable) finish.push(`ALTER TABLE ${qi(label(t))} ALTER CONSTRAINT ${qi(k.name)} NOT DEFERRABLE`);
    }
  return { ddl, finish, outside };
}

function pick(all: CatalogTable[], tables: readonly string[] | undefined): CatalogTable[] {
  if (!tables?.length) return all;
  return tables.map((t) => {
    const [schema, name] = t.includes('.') ? t.split('.', 2) : ['public', t];
    const row = all.find((x) => x.schema === schema && x.name === name);
    if (!row) throw new SpecError(`--table ${t}: no such table on the source`);
    return row;
  });
}

/**
 * Introspect the source (read-only) into a complete target schema. Refuses with
 * ReplicaIdentityMissingError, naming every such table, when a table has no primary key
 * (and no replica identity index) unless `allowFullIdentity` (see IntrospectOptions).
 */
export async function introspectSchema(source: DbEndpoint, opts: IntrospectOptions = {}): Promise<IntrospectedSchema> {
  return withClient(source, { readOnly: true, applicationName: 'switchyard-sync' }, async (c) => {
    await c.query(`SELECT set_config('search_path', 'pg_catalog', false)`);
    const wanted = pick(await catalogTables(c), opts.tables);
    if (!wanted.length) throw new SpecError('the source has no table to sync: name tables with --table or pass --spec');
    const keys = new Map(wanted.map((t) => [t, keyOf(t, opts.allowFullIdentity === true)]));
    const problems = [...keys.values()].flatMap((k) => ('problem' in k ? [k.problem] : []));
    if (problems.length)
      throw new ReplicaIdentityMissingError(
        `tables without a primary key cannot be synced as they are (nothing was created):\n  - ${problems.join('\n  - ')}\n` +
          'Add a primary key; or pass --allow-full-identity (sets REPLICA IDENTITY FULL on these source tables: a ' +
          'catalog write there; a table with a unique NOT NULL key is synced by it, a keyless one forward only, ' +
          'its rows matched by all columns); or name the tables to sync with --table',
      );
    const ordered = foreignKeyOrder(wanted);
    const oids = ordered.map((t) => t.oid);
    const seqs = await catalogSequences(c, oids);
    const types = [...new Set(ordered.flatMap((t) => t.cols.map((col) => col.elementType)))];
    const domains = await catalogDomains(c, types);
    const enums = await catalogEnums(c, [...types, ...domains.map((d) => d.baseType)]);
    const schemas = [
      ...new Set([
        ...ordered.map((t) => t.schema),
        ...enums.map((e) => e.schema),
        ...domains.map((d) => d.schema),
        ...seqs.map((s) => s.name.split('.')[0]),
      ]),
    ].filter((s) => s !== 'public');
    const fks = foreignKeys(ordered);
    const identityAlways = ordered.flatMap((t) =>
      t.cols
        .filter((col) => col.identity === 'a')
        .map((col) => `ALTER TABLE ${qi(label(t))} ALTER COLUMN ${qi(col.name)} SET GENERATED ALWAYS`),
    );
    const spec = parseSpec({
      version: 1,
      name: opts.name ?? 'cli-sync',
      targetDdl: [
        ...schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${qi(s)}`),
        ...enums.map(
          (e) =>
            `DO $$ BEGIN CREATE TYPE ${e.name} AS ENUM (${e.labels.map(ql).join(', ')}); EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
        ),
        ...domains.map(
          (d) =>
            `DO $$ BEGIN CREATE DOMAIN ${d.name} ${d.definition}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
        ),
        ...seqs
          .filter((s) => !s.identity)
          .map((s) => `CREATE SEQUENCE IF NOT EXISTS ${s.name} AS ${s.type} ${sequenceOptions(s)}`),
        ...ordered.flatMap((t) => tableDdl(t, seqs)),
        ...fks.ddl,
      ],
      tables: ordered.map((t) => {
        const { key, keyless } = keys.get(t) as { key: string[]; keyless: boolean };
        return {
          ...(keyless ? { keyless: true, forwardOnly: true } : {}),
          name: (t.schema === 'public' ? t.name : `${t.schema}_${t.name}`).replace(/[^a-z0-9_-]/gi, '_'),
          source: { table: label(t) },
          key,
          target: { table: label(t) },
          columns: Object.fromEntries(
            t.cols
              .filter((col) => !key.includes(col.name) && !col.generated)
              .map((col) => [col.name, `s.${qi(col.name)}`]),
          ),
        };
      }),
    });
    const schemaNames = [...new Set(ordered.map((t) => t.schema))];
    return {
      spec,
      finishStatements: [...fks.finish, ...identityAlways],
      notCarried: [...(await notCarried(c, oids, schemaNames)), ...fks.outside],
      needFullIdentity: ordered.filter((t) => (keys.get(t) as { full: boolean }).full).map(label),
      keyless: ordered.filter((t) => (keys.get(t) as { keyless: boolean }).keyless).map(label),
    };
  });
}

/** The identity spec of the source's tables (the named ones, or all), built by introspection: see introspectSchema. */
export async function introspectIdentitySpec(
  source: DbEndpoint,
  tables?: readonly string[],
  name = 'cli-sync',
): Promise<MigrationSpec> {
  return (await introspectSchema(source, { tables, name })).spec;
}
