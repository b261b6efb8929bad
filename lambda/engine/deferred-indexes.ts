import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { connect, type DbEndpoint, withClient } from './db';
import { redactedReason, SchemaMismatchError, sqlState } from './errors';
import type { MigrationSpec, TableSpec } from './spec';
import { targetKey, targetRelation } from './spec';
import { qi } from './sql';

const META = 'switchyard';

/**
 * Load first, index after (as pg_restore and pgcopydb do): inside PrepareTarget's
 * transaction, record and drop what slows a bulk load of an *empty* target table —
 * secondary indexes, and foreign-key / unique / exclusion constraints — keeping the
 * primary key or the unique index on the spec's target key (the sync upserts by it),
 * CHECK and NOT NULL (cheap, and they fail the chunk that brings a bad row). Indexes
 * that another table's foreign key depends on are kept. Returns `relation.name` of each.
 */
export async function captureDeferredIndexes(tgt: Client, tables: readonly TableSpec[]): Promise<string[]> {
  const out: string[] = [];
  // Definitions come back fully schema-qualified only when nothing is on the search_path.
  await tgt.query('SET LOCAL search_path = pg_catalog');
  for (const t of tables) {
    const rel = targetRelation(t);
    const empty = await tgt.query(`SELECT NOT EXISTS (SELECT 1 FROM ${qi(rel)}) AS empty`);
    if (!empty.rows[0].empty) continue;
    const keyIndex = await tgt.query(
      `SELECT i.indexrelid FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
              = (SELECT array_agg(x ORDER BY x) FROM unnest($2::text[]) x)
        ORDER BY i.indisprimary DESC LIMIT 1`,
      [qi(rel), targetKey(t)],
    );
    const keep = keyIndex.rows[0]?.indexrelid ?? 0;
    // Constraints of this table other than the key's: FOREIGN KEY, UNIQUE, EXCLUDE (not referenced by another table's FK).
    const cons = await tgt.query(
      `SELECT c.conname AS name, c.contype AS type, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
        WHERE c.conrelid = to_regclass($1) AND c.contype IN ('f', 'u', 'x') AND c.conindid IS DISTINCT FROM $2::oid
          AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid AND c.contype <> 'f')
        ORDER BY c.contype = 'f' DESC, c.conname`,
      [qi(rel), keep],
    );
    // Plain indexes (not backing a constraint), not the key index, not used by a foreign key.
    const idx = await tgt.query(
      `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = to_regclass($1) AND i.indexrelid <> $2::oid AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY ic.relname`,
      [qi(rel), keep],
    );
    for (const c of cons.rows) {
      await tgt.query(
        `INSERT INTO ${META}.deferred_indexes (relation, name, kind, definition) VALUES ($1, $2, 'constraint', $3) ON CONFLICT DO NOTHING`,
        [rel, c.name, `ALTER TABLE ${qi(rel)} ADD CONSTRAINT ${qi(c.name)} ${c.def}`],
      );
      await tgt.query(`ALTER TABLE ${qi(rel)} DROP CONSTRAINT ${qi(c.name)}`);
      out.push(`${rel}.${c.name}`);
    }
    for (const i of idx.rows) {
      await tgt.query(
        `INSERT INTO ${META}.deferred_indexes (relation, name, kind, definition) VALUES ($1, $2, 'index', $3) ON CONFLICT DO NOTHING`,
        [rel, i.name, i.def],
      );
      await tgt.query(`DROP INDEX ${qi(`${rel.split('.')[0]}.${i.name}`)}`);
      out.push(`${rel}.${i.name}`);
    }
    // A re-run of PrepareTarget after a build (or a new spec version) must not build twice.
    await tgt.query(
      `UPDATE ${META}.deferred_indexes SET built_at = NULL, build_seconds = NULL WHERE relation = $1 AND name = ANY($2::text[])`,
      [rel, [...cons.rows, ...idx.rows].map((r) => r.name as string)],
    );
  }
  return out;
}

export interface DeferredIndexBuild {
  readonly relation: string;
  readonly name: string;
  readonly kind: 'index' | 'constraint';
  readonly seconds: number;
}

export interface BuildIndexesResult {
  /** Wall time of the whole build. */
  readonly seconds: number;
  /** What this call built (already-built ones are skipped). */
  readonly built: readonly DeferredIndexBuild[];
  /** Deferred ones still missing after this call (none unless it failed or another call holds them). */
  readonly pending: number;
}

export interface BuildIndexesOptions {
  /** Index builds at once, each on its own connection (pg_restore -j). Constraints are added one at a time after the indexes. @default 2 */
  readonly concurrency?: number;
  /** Only these spec table names. @default - every table of the spec */
  readonly tables?: readonly string[];
  /** `maintenance_work_mem` for the build sessions (e.g. `'512MB'`). @default - the server's setting */
  readonly maintenanceWorkMem?: string;
  /** ANALYZE the tables after building (when anything was built). @default true */
  readonly analyze?: boolean;
  /**
   * What to build: `indexes` — the plain (non-unique) indexes, right after the copy; `constraints`
   * — foreign keys, unique/exclusion constraints and unique indexes, which the rows must satisfy:
   * only once the sync has caught up (writes during a chunked copy leave a child before its parent
   * or a unique value on two rows until the sync applies the rest); `all` — both (no writes).
   * @default 'all'
   */
  readonly what?: DeferredWhat;
}

export type DeferredWhat = 'indexes' | 'constraints' | 'all';

/** A deferred item the rows must satisfy (validated only after the catch-up), or a plain index. */
function validates(d: { kind: 'index' | 'constraint'; definition: string }): boolean {
  return d.kind === 'constraint' || /^\s*CREATE\s+UNIQUE\s/i.test(d.definition);
}

/**
 * Recreate the indexes and constraints PrepareTarget deferred: plain indexes in parallel
 * (`concurrency` sessions; CREATE INDEX takes a SHARE lock, so builds on one table do not block
 * each other), then constraints one by one (ALTER TABLE … ADD CONSTRAINT validates the rows: a
 * duplicate or an orphan fails here, naming the constraint). Migrate builds the plain indexes
 * after the copy (`what: 'indexes'`) and the rest once the sync has caught up (`what:
 * 'constraints'`, before Validate). Idempotent: what exists is marked built and skipped, so a
 * retried or resumed call finishes the rest. `pending` counts everything deferred and not built.
 */
type Deferred = { relation: string; name: string; kind: 'index' | 'constraint'; definition: string };

export async function buildDeferredIndexes(
  spec: MigrationSpec,
  target: DbEndpoint,
  opts: BuildIndexesOptions = {},
): Promise<BuildIndexesResult> {
  const t0 = performance.now();
  const relations = spec.tables.filter((t) => !opts.tables || opts.tables.includes(t.name)).map(targetRelation);
  const todo = await deferredTodo(target, relations, opts.what ?? 'all');
  const built: DeferredIndexBuild[] = [];
  const session = async () => {
    const c = await connect(target, { applicationName: 'switchyard-index' });
    if (opts.maintenanceWorkMem)
      await c.query(`SELECT set_config('maintenance_work_mem', $1, false)`, [opts.maintenanceWorkMem]);
    return c;
  };
  const indexes = todo.filter((d) => d.kind === 'index');
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    const c = await session();
    try {
      while (failure === undefined && next < indexes.length)
        await buildOne(c, indexes[next++], built).catch((e) => (failure ??= e));
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, indexes.length)) }, worker));
  if (failure !== undefined) throw failure;
  const constraints = todo.filter((d) => d.kind === 'constraint');
  if (constraints.length) {
    const c = await session();
    try {
      for (const d of constraints) await buildOne(c, d, built);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  const pending = await analyzeAndCount(target, relations, built.length > 0 && opts.analyze !== false);
  return { seconds: (performance.now() - t0) / 1000, built, pending };
}

/** The deferred indexes / constraints of these relations not built yet (none when nothing was ever deferred). */
async function deferredTodo(target: DbEndpoint, relations: string[], what: DeferredWhat) {
  return withClient(target, { applicationName: 'switchyard-index' }, async (c) => {
    const r = await c
      .query(
        `SELECT relation, name, kind, definition FROM ${META}.deferred_indexes WHERE relation = ANY($1::text[]) ` +
          `AND built_at IS NULL ORDER BY kind DESC, relation, name`,
        [relations],
      )
      .catch((e) => {
        if ((e as { code?: string }).code === '42P01') return { rows: [] }; // nothing was ever deferred
        throw e;
      });
    const rows = r.rows as Deferred[];
    return rows.filter((d) => what === 'all' || validates(d) === (what === 'constraints'));
  });
}

/** Build one (unless it exists already: a retried call), record its time; a failure names it, never its values. */
async function buildOne(c: Client, d: Deferred, built: DeferredIndexBuild[]): Promise<void> {
  const s0 = performance.now();
  const exists = await c.query(
    d.kind === 'index'
      ? `SELECT 1 FROM pg_class WHERE oid = to_regclass($1)`
      : `SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2`,
    d.kind === 'index' ? [qi(`${d.relation.split('.')[0]}.${d.name}`)] : [qi(d.relation), d.name],
  );
  if (!exists.rowCount) {
    try {
      await c.query(d.definition);
    } catch (e) {
      // No `cause`: the pg error's detail quotes the duplicated or orphaned values.
      const code = sqlState(e);
      throw new SchemaMismatchError(
        `building deferred ${d.kind} ${d.name} on ${d.relation} failed: ${redactedReason(e)}${code ? ` (SQLSTATE ${code})` : ''}`,
      );
    }
  }
  const seconds = (performance.now() - s0) / 1000;
  await c.query(
    `UPDATE ${META}.deferred_indexes SET built_at = now(), build_seconds = $3 WHERE relation = $1 AND name = $2`,
    [d.relation, d.name, seconds],
  );
  built.push({ relation: d.relation, name: d.name, kind: d.kind, seconds });
}

/** Planner statistics for the freshly loaded tables (autovacuum would get there, later); what is still pending. */
async function analyzeAndCount(target: DbEndpoint, relations: string[], analyze: boolean): Promise<number> {
  return withClient(target, { applicationName: 'switchyard-index' }, async (c) => {
    if (analyze) for (const rel of relations) await c.query(`ANALYZE ${qi(rel)}`);
    const r = await c.query(
      `SELECT count(*) AS n FROM ${META}.deferred_indexes WHERE relation = ANY($1::text[]) AND built_at IS NULL`,
      [relations],
    );
    return Number(r.rows[0].n);
  });
}
