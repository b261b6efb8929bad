import { createHash } from 'crypto';
import { withClient, DbEndpoint, endpointLabel, loadSpecFile, MigrationSpec, parseSpec, prepareTarget, copyTable, describeTableWith, SpecError } from '../../lambda/engine';
import { SwitchyardError } from '../../lambda/core/errors';
import { qi, ql } from '../../lambda/engine/sql';
import { createSync, qualifiedTableSpec, ReplicaIdentityMissingError, runSync, SyncRunResult, SyncTargetNotEmptyError } from '../../lambda/engine/sync';

export interface SyncCommandOptions {
  readonly source: string;
  readonly target: string;
  /** Spec file (JSON). @default - identity mapping of `tables`, or of every source table with a primary key */
  readonly spec?: string;
  readonly tables?: string[];
  /** Copy, drain up to the source's current position, exit. */
  readonly once?: boolean;
  /** Accept non-empty target tables: continue the copy from its checkpoints and the sync from its position. */
  readonly resume?: boolean;
}

export interface SyncCommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal: AbortSignal;
}

/** postgres://user:password@host:port/db?sslmode=require → endpoint (the password is never printed). */
export function parsePostgresUrl(url: string, flag: string): DbEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SpecError(`${flag} is not a URL: expected postgres://user:password@host:5432/db`);
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) throw new SpecError(`${flag} must be a postgres:// URL`);
  const ssl = u.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(u.hostname) || 'localhost',
    port: Number(u.port || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ssl: ssl === 'require' ? 'require' : ssl === 'verify-full' ? 'verify-full' : undefined,
  };
}

/** The identity spec of the source's tables (the named ones, or all with a primary key), built by introspection. */
export async function introspectIdentitySpec(source: DbEndpoint, tables?: readonly string[]): Promise<MigrationSpec> {
  return withClient(source, { readOnly: true, applicationName: 'switchyard-sync' }, async (c) => {
    const r = await c.query(
      `SELECT n.nspname AS schema, c.relname AS name,
              (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
              (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notnull', a.attnotnull,
                        'generated', CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END) ORDER BY a.attnum)
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
              (SELECT array_agg(DISTINCT coalesce(nullif(t.typelem, 0::oid), t.oid)::int) FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS types
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'switchyard') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY n.nspname, c.relname`,
    );
    type Row = { schema: string; name: string; pk: string[] | null; cols: { name: string; type: string; notnull: boolean; generated: string | null }[]; types: number[] };
    const all = r.rows as Row[];
    const wanted = tables?.length
      ? tables.map((t) => {
          const [schema, name] = t.includes('.') ? t.split('.', 2) : ['public', t];
          const row = all.find((x) => x.schema === schema && x.name === name);
          if (!row) throw new SpecError(`--table ${t}: no such table on the source`);
          if (!row.pk) throw new ReplicaIdentityMissingError(`--table ${t} has no primary key: give it one (or pass a --spec naming its key) and retry`);
          return row;
        })
      : all.filter((x) => x.pk);
    if (!wanted.length) throw new SpecError('the source has no table with a primary key to sync: name tables with --table or pass --spec');
    const schemas = [...new Set(wanted.map((t) => t.schema).filter((s) => s !== 'public'))];
    // Enum types the columns use (also as array elements) are created on the target first; other user types need a --spec.
    const enums = (
      await c.query(
        `SELECT n.nspname AS schema, format('%I.%I', n.nspname, t.typname) AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
          WHERE t.oid = ANY($1::oid[]) GROUP BY n.nspname, t.typname ORDER BY 2`,
        [[...new Set(wanted.flatMap((t) => t.types ?? []))]],
      )
    ).rows as { schema: string; name: string; labels: string[] }[];
    for (const e of enums) if (e.schema !== 'public' && !schemas.includes(e.schema)) schemas.push(e.schema);
    return parseSpec({
      version: 1,
      name: 'cli-sync',
      targetDdl: [
        ...schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${qi(s)}`),
        ...enums.map((e) => `DO $$ BEGIN CREATE TYPE ${e.name} AS ENUM (${e.labels.map(ql).join(', ')}); EXCEPTION WHEN duplicate_object THEN NULL; END $$`),
        ...wanted.map((t) => {
          // A stored generated column stays generated on the target (the change stream of PostgreSQL < 18 does not carry it).
          const cols = t.cols.map((col) => `${qi(col.name)} ${col.type}${col.generated ? ` GENERATED ALWAYS AS (${col.generated}) STORED` : col.notnull ? ' NOT NULL' : ''}`);
          return `CREATE TABLE IF NOT EXISTS ${qi(`${t.schema}.${t.name}`)} (${cols.join(', ')}, PRIMARY KEY (${t.pk!.map(qi).join(', ')}))`;
        }),
      ],
      tables: wanted.map((t) => ({
        name: (t.schema === 'public' ? t.name : `${t.schema}_${t.name}`).replace(/[^a-z0-9_-]/gi, '_'),
        source: { table: `${t.schema}.${t.name}` },
        key: t.pk!,
        target: { table: `${t.schema}.${t.name}` },
        columns: Object.fromEntries(t.cols.filter((col) => !t.pk!.includes(col.name) && !col.generated).map((col) => [col.name, `s.${qi(col.name)}`])),
      })),
    });
  });
}

const line = (s: NodeJS.WritableStream, text: string) => s.write(`${text}\n`);

function summary(r: SyncRunResult[]): string {
  const sum = (k: 'transactions' | 'inserted' | 'updated' | 'deleted' | 'conflicts') => r.reduce((n, x) => n + x[k], 0);
  const last = r[r.length - 1];
  return `sync: ${sum('transactions')} transactions applied (${sum('inserted')} inserts, ${sum('updated')} updates, ${sum('deleted')} deletes), ${sum('conflicts')} conflicts; applied up to ${last.appliedLsn}, source at ${last.sourceLsn}, lag ${last.lagBytes} bytes, ${last.caughtUp ? 'caught up' : 'behind'}`;
}

/**
 * `switchyard sync`: copy + follow without AWS. Creates the publication and slot BEFORE the copy,
 * prepares and copies the target with the data engine, then streams changes until `io.signal`
 * aborts, drains to the source's current position and exits 0. `once` copies, drains and exits.
 * Exit codes: 0 done, 1 a named error (printed with what to do), 2 refused (non-empty target).
 */
export async function syncCommand(opts: SyncCommandOptions, io: SyncCommandIo): Promise<number> {
  try {
    const source = parsePostgresUrl(opts.source, '--source');
    const target = parsePostgresUrl(opts.target, '--target');
    const spec = opts.spec ? loadSpecFile(opts.spec) : await introspectIdentitySpec(source, opts.tables);
    const migrationId = `cli_${createHash('sha256').update(`${endpointLabel(source)}>${endpointLabel(target)}:${spec.name}`).digest('hex').slice(0, 12)}`;
    line(io.stderr, `sync ${endpointLabel(source)} -> ${endpointLabel(target)}: ${spec.tables.length} table(s), id ${migrationId}`);

    // Refuse a non-empty target before creating anything.
    if (!opts.resume) {
      const busy = await withClient(target, { readOnly: true }, async (c) => {
        const out: string[] = [];
        for (const t of spec.tables.map(qualifiedTableSpec)) {
          const r = await c.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [qi(t.target.table)]);
          if (r.rows[0].e && (await c.query(`SELECT 1 FROM ${qi(t.target.table)} LIMIT 1`)).rowCount) out.push(t.target.table);
        }
        return out;
      });
      if (busy.length) {
        throw new SyncTargetNotEmptyError(`target table(s) ${busy.join(', ')} already have rows: empty them, or pass --resume to continue an earlier sync into them`);
      }
    }
    const created = await createSync(source, spec, migrationId, 'forward');
    line(io.stderr, `slot ${created.slot} ${created.created.slot ? `created at ${created.startLsn}` : 'exists'}; publication ${created.publication}`);
    await prepareTarget(spec, source, target);
    for (const t of spec.tables.map(qualifiedTableSpec)) {
      const layout = await describeTableWith(t, source, target);
      const r = await copyTable(layout, source, target, { runId: migrationId, concurrency: 2 });
      line(io.stderr, `copied ${t.name}: ${r.rowsCopied} rows (${r.rowsTotal} in all)`);
    }
    const base = { migrationId, direction: 'forward' as const, spec, source, target };
    const runs: SyncRunResult[] = [];
    if (!opts.once) {
      let lastPrint = 0;
      runs.push(
        await runSync({
          ...base,
          signal: io.signal,
          onProgress: (p) => {
            if (Date.now() - lastPrint < 1000) return;
            lastPrint = Date.now();
            line(io.stderr, `lag ${p.lagBytes} bytes, ${p.lagSeconds.toFixed(1)} s; applied ${p.transactions} transactions up to ${p.appliedLsn}`);
          },
        }),
      );
    }
    // Drain: everything the source had committed when we got here.
    runs.push(await runSync(base));
    line(io.stdout, summary(runs));
    return 0;
  } catch (e) {
    if (e instanceof SwitchyardError) {
      line(io.stderr, `error ${e.name}: ${e.message}`);
      return e instanceof SyncTargetNotEmptyError ? 2 : 1;
    }
    throw e;
  }
}
