import {
  buildDeferredIndexes,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  endpointLabel,
  loadSpecFile,
  type MigrationSpec,
  prepareTarget,
  withClient,
} from '../../lambda/engine';
import { SwitchyardError } from '../../lambda/core/errors';
import { introspectSchema } from '../../lambda/engine/introspect';
import { ensureTargetDependencies } from '../../lambda/engine/target-dependencies';
import { qi } from '../../lambda/engine/sql';
import {
  createSync,
  leftBehindHint,
  moveSequencesPast,
  qualifiedTableSpec,
  ReplicationNotConfiguredError,
  runSync,
  type SyncRunResult,
  SyncTargetNotEmptyError,
  syncNames,
} from '../../lambda/engine/sync';
import { recordFullIdentity } from './source-identity';
import { endpoints, type SyncConnectOptions, syncMigrationId } from './sync-connect';

export { parsePostgresUrl } from './sync-connect';

export interface SyncCommandOptions extends SyncConnectOptions {
  /** Only these source tables. @default - every table of the spec, or of the source */
  readonly tables?: string[];
  /** Copy, drain up to the source's current position, exit. */
  readonly once?: boolean;
  /** Accept non-empty target tables: continue the copy from its checkpoints and the sync from its position. */
  readonly resume?: boolean;
  /** Tables without a primary key: REPLICA IDENTITY FULL on the source; synced by a unique NOT NULL key, else keyless. */
  readonly allowFullIdentity?: boolean;
  /** false: a large transaction is applied only once it committed, never streamed (runSync `streaming`). @default true */
  readonly streaming?: boolean;
}

export interface SyncCommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal: AbortSignal;
}

/** What one sync works on: the spec, and what introspection said about the target schema. */
export interface SyncPlan {
  readonly source: DbEndpoint;
  readonly target: DbEndpoint;
  readonly spec: MigrationSpec;
  readonly migrationId: string;
  readonly finishStatements: readonly string[];
  readonly notCarried: readonly string[];
  readonly needFullIdentity: readonly string[];
}

export const line = (s: NodeJS.WritableStream, text: string) => s.write(`${text}\n`);

/** The spec (from --spec, or introspected) and the migration id. */
export async function syncPlan(opts: SyncCommandOptions): Promise<SyncPlan> {
  const { source, target } = endpoints(opts);
  const base = { source, target, finishStatements: [], notCarried: [], needFullIdentity: [] };
  if (opts.spec) {
    const spec = loadSpecFile(opts.spec);
    return { ...base, spec, migrationId: syncMigrationId(source, target, spec.name) };
  }
  const s = await introspectSchema(source, { tables: opts.tables, allowFullIdentity: opts.allowFullIdentity });
  return { ...base, ...s, migrationId: syncMigrationId(source, target, s.spec.name) };
}

/** The command that repeats this one's connection flags (URLs without passwords, or the env var names). */
export function sameFlags(opts: SyncConnectOptions): string {
  const side = (url: string | undefined, env: string | undefined, name: string) =>
    env ? `--${name}-env ${env}` : `--${name} ${(url ?? '').replace(/(\/\/[^:/@]*):[^@]*@/, '$1@')}`;
  return [
    side(opts.source, opts.sourceEnv, 'source'),
    side(opts.target, opts.targetEnv, 'target'),
    ...(opts.spec ? [`--spec ${opts.spec}`] : []),
  ].join(' ');
}

function summary(r: SyncRunResult[]): string {
  const sum = (k: 'transactions' | 'inserted' | 'updated' | 'deleted' | 'conflicts') => r.reduce((n, x) => n + x[k], 0);
  const last = r[r.length - 1];
  return (
    `sync: ${sum('transactions')} transactions applied (${sum('inserted')} inserts, ${sum('updated')} updates, ` +
    `${sum('deleted')} deletes), ${sum('conflicts')} conflicts; applied up to ${last.appliedLsn}, source at ` +
    `${last.sourceLsn}, lag ${last.lagBytes} bytes, ${last.caughtUp ? 'caught up' : 'behind'}`
  );
}

/** Target tables that already hold rows. */
async function busyTargets(target: DbEndpoint, spec: MigrationSpec): Promise<string[]> {
  return withClient(target, { readOnly: true }, async (c) => {
    const out: string[] = [];
    for (const t of spec.tables.map(qualifiedTableSpec)) {
      const r = await c.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [qi(t.target.table)]);
      if (r.rows[0].e && (await c.query(`SELECT 1 FROM ${qi(t.target.table)} LIMIT 1`)).rowCount)
        out.push(t.target.table);
    }
    return out;
  });
}

/** The extensions and functions the introspected tables use, on the target before anything is created. */
async function targetDependencies(plan: SyncPlan, io: SyncCommandIo): Promise<void> {
  const tables = plan.spec.tables
    .map((t) => qualifiedTableSpec(t).source)
    .flatMap((s) => ('table' in s ? [s.table] : []));
  const created = await ensureTargetDependencies(plan.source, plan.target, tables);
  if (created.length) line(io.stderr, `target: created extension(s) the tables use: ${created.join(', ')}`);
}

/** Unlogged (or temporary) source tables: logical decoding never sees their writes, so a sync cannot carry them. */
async function refuseUnloggedTables(plan: SyncPlan): Promise<void> {
  const tables = plan.spec.tables.flatMap((t) => {
    const s = qualifiedTableSpec(t).source;
    return 'table' in s ? [qi(s.table)] : [];
  });
  const r = await withClient(plan.source, { readOnly: true, applicationName: 'switchyard-sync' }, (c) =>
    c.query(
      `SELECT format('%s.%s', n.nspname, c.relname) AS t FROM unnest($1::text[]) x JOIN pg_class c ON c.oid = to_regclass(x)
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relpersistence <> 'p' ORDER BY 1`,
      [tables],
    ),
  );
  if (r.rowCount)
    throw new ReplicationNotConfiguredError(
      `unlogged table(s) ${r.rows.map((x) => x.t).join(', ')}: logical replication never sees their writes ` +
        `(nothing was created). Make them logged (ALTER TABLE … SET LOGGED) or leave them out with --table`,
    );
}

/** REPLICA IDENTITY FULL on the source tables that need it: a catalog write on the source, said so. */
async function setFullIdentity(plan: SyncPlan, io: SyncCommandIo): Promise<void> {
  if (!plan.needFullIdentity.length) return;
  await recordFullIdentity(plan.target, plan.migrationId, plan.needFullIdentity);
  await withClient(plan.source, { applicationName: 'switchyard-sync' }, async (c) => {
    for (const t of plan.needFullIdentity) await c.query(`ALTER TABLE ${qi(t)} REPLICA IDENTITY FULL`);
  });
  line(
    io.stderr,
    `wrote to the source: REPLICA IDENTITY FULL on ${plan.needFullIdentity.join(', ')} (--allow-full-identity; ` +
      '`switchyard sync cleanup` sets it back to DEFAULT)',
  );
}

/** Prepare the target (secondary indexes and constraints deferred), copy, and move the target's sequences past. */
async function prepareAndCopy(plan: SyncPlan, io: SyncCommandIo): Promise<void> {
  const { spec, source, target, migrationId } = plan;
  const prep = await prepareTarget(spec, source, target, { deferIndexes: true });
  line(
    io.stderr,
    `target schema: ${prep.ddlApplied} statement(s) applied, ${prep.deferred.length} index(es)/constraint(s) deferred`,
  );
  for (const t of spec.tables.map(qualifiedTableSpec)) {
    const layout = await describeTableWith(t, source, target);
    const r = await copyTable(layout, source, target, { runId: migrationId, concurrency: 2 });
    line(io.stderr, `copied ${t.name}: ${r.rowsCopied} rows (${r.rowsTotal} in all)`);
  }
  const moves = await moveSequencesPast(spec, { old: source, new: target }, { moving: 'new' });
  for (const m of moves) line(io.stderr, `sequence ${m.sequence} set to ${m.setTo} (source at ${m.otherMax})`);
}

/** After the first catch-up: build the deferred indexes and validate unique and foreign-key constraints. */
async function buildAfterCatchUp(plan: SyncPlan, io: SyncCommandIo): Promise<void> {
  const b = await buildDeferredIndexes(plan.spec, plan.target);
  if (b.built.length)
    line(io.stderr, `built ${b.built.length} index(es)/constraint(s) after the catch-up in ${b.seconds.toFixed(1)} s`);
}

/** What stays on the source when the command ends, and how to remove it. */
export function printLeftBehind(plan: SyncPlan, opts: SyncConnectOptions, io: SyncCommandIo): void {
  const { slot, publication } = syncNames(plan.migrationId, 'forward');
  line(
    io.stderr,
    `left on the source ${endpointLabel(plan.source)}: replication slot ${slot} (it retains WAL until dropped) and publication ${publication}; ` +
      `on the target: schema switchyard (sync position). Status: switchyard sync status ${sameFlags(opts)}; ` +
      `remove both: switchyard sync cleanup ${sameFlags(opts)}`,
  );
}

/**
 * `switchyard sync`: copy + follow without AWS. Refuses keyless tables and a non-empty
 * target before creating anything; creates the publication and slot BEFORE the copy,
 * prepares the complete target schema (secondary indexes and constraints after the load),
 * copies, catches up, builds what was deferred, then streams changes until `io.signal`
 * aborts, drains to the source's current position and exits 0. `once` copies, drains and
 * exits. Exit codes: 0 done, 1 a named error (printed with what to do).
 */
export async function syncCommand(opts: SyncCommandOptions, io: SyncCommandIo): Promise<number> {
  let slotOf: string | undefined; // the migration id once its slot exists: a failure says how to remove it
  try {
    const plan = await syncPlan(opts);
    const { spec, source, target, migrationId } = plan;
    line(
      io.stderr,
      `sync ${endpointLabel(source)} -> ${endpointLabel(target)}: ${spec.tables.length} table(s), id ${migrationId}`,
    );
    if (plan.notCarried.length)
      line(io.stderr, `not carried to the target (recreate them yourself):\n  - ${plan.notCarried.join('\n  - ')}`);
    const keyless = spec.tables.filter((t) => t.keyless).map((t) => t.name);
    if (keyless.length)
      line(
        io.stderr,
        `keyless (no primary or unique key): ${keyless.join(', ')}: copied whole, changes matched by all columns ` +
          '(one of identical rows each), forward only (switchover --reverse refuses them)',
      );
    if (!opts.resume) {
      const busy = await busyTargets(target, spec);
      if (busy.length)
        throw new SyncTargetNotEmptyError(
          `target table(s) ${busy.join(', ')} already have rows: empty them, or pass --resume to continue an earlier sync into them`,
        );
    }
    await refuseUnloggedTables(plan);
    if (!opts.spec) await targetDependencies(plan, io);
    await setFullIdentity(plan, io);
    const created = await createSync(source, spec, migrationId, 'forward');
    slotOf = migrationId;
    line(
      io.stderr,
      `slot ${created.slot} ${created.created.slot ? `created at ${created.startLsn}` : 'exists'}; publication ${created.publication}`,
    );
    await prepareAndCopy(plan, io);
    const base = {
      ...{ migrationId, direction: 'forward' as const, spec, source, target },
      ...(opts.streaming === false ? { streaming: false } : {}),
    };
    const runs: SyncRunResult[] = [await runSync(base)];
    await buildAfterCatchUp(plan, io);
    if (!opts.once) {
      let lastPrint = 0;
      if (!io.signal.aborted)
        runs.push(
          await runSync({
            ...base,
            signal: io.signal,
            onProgress: (p) => {
              if (Date.now() - lastPrint < 1000) return;
              lastPrint = Date.now();
              line(
                io.stderr,
                `lag ${p.lagBytes} bytes, ${p.lagSeconds.toFixed(1)} s; applied ${p.transactions} transactions up to ${p.appliedLsn}`,
              );
            },
          }),
        );
      // Drain: everything the source had committed when we got here (also when stopped before the
      // stream began, during the copy or the catch-up: a write committed before the stop is applied).
      runs.push(await runSync(base));
    }
    line(io.stdout, summary(runs));
    printLeftBehind(plan, opts, io);
    return 0;
  } catch (e) {
    if (slotOf) line(io.stderr, leftBehindHint(slotOf, 'forward'));
    if (e instanceof SwitchyardError) {
      line(io.stderr, `error ${e.name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
