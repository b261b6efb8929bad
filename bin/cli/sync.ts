import { createHash } from 'node:crypto';
import {
  withClient,
  type DbEndpoint,
  endpointLabel,
  loadSpecFile,
  prepareTarget,
  copyTable,
  describeTableWith,
  SpecError,
} from '../../lambda/engine';
import { introspectIdentitySpec } from '../../lambda/engine/introspect';
import { parsePostgresUrl as parseUrl } from '../../lambda/engine/postgres-url';
import { SwitchyardError } from '../../lambda/core/errors';
import { qi } from '../../lambda/engine/sql';
import {
  createSync,
  qualifiedTableSpec,
  runSync,
  type SyncRunResult,
  SyncTargetNotEmptyError,
} from '../../lambda/engine/sync';

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
  const r = parseUrl(url);
  if ('endpoint' in r) return r.endpoint;
  throw new SpecError(
    r.problem === 'not-a-url'
      ? `${flag} is not a URL: expected postgres://user:password@host:5432/db`
      : `${flag} must be a postgres:// URL`,
  );
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
    const migrationId = `cli_${createHash('sha256')
      .update(`${endpointLabel(source)}>${endpointLabel(target)}:${spec.name}`)
      .digest('hex')
      .slice(0, 12)}`;
    line(
      io.stderr,
      `sync ${endpointLabel(source)} -> ${endpointLabel(target)}: ${spec.tables.length} table(s), id ${migrationId}`,
    );

    // Refuse a non-empty target before creating anything.
    if (!opts.resume) {
      const busy = await withClient(target, { readOnly: true }, async (c) => {
        const out: string[] = [];
        for (const t of spec.tables.map(qualifiedTableSpec)) {
          const r = await c.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [qi(t.target.table)]);
          if (r.rows[0].e && (await c.query(`SELECT 1 FROM ${qi(t.target.table)} LIMIT 1`)).rowCount)
            out.push(t.target.table);
        }
        return out;
      });
      if (busy.length) {
        throw new SyncTargetNotEmptyError(
          `target table(s) ${busy.join(', ')} already have rows: empty them, or pass --resume to continue an earlier sync into them`,
        );
      }
    }
    const created = await createSync(source, spec, migrationId, 'forward');
    line(
      io.stderr,
      `slot ${created.slot} ${created.created.slot ? `created at ${created.startLsn}` : 'exists'}; publication ${created.publication}`,
    );
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
            line(
              io.stderr,
              `lag ${p.lagBytes} bytes, ${p.lagSeconds.toFixed(1)} s; applied ${p.transactions} transactions up to ${p.appliedLsn}`,
            );
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
