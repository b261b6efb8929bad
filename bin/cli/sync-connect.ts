import { createHash } from 'node:crypto';
import { type DbEndpoint, endpointLabel, loadSpecFile, SpecError } from '../../lambda/engine';

/**
 * Where `switchyard sync` connects, and the migration id its objects are named by.
 * A URL may leave the password out: it then comes from PGPASSWORD or the pgpass file
 * (~/.pgpass, or PGPASSFILE), as for psql. `--source-env VAR` reads the URL from an
 * environment variable, so nothing secret shows in `ps`.
 */
export interface SyncConnectOptions {
  /** postgres:// URL. */
  readonly source?: string;
  /** Name of an environment variable holding the source URL. */
  readonly sourceEnv?: string;
  readonly target?: string;
  readonly targetEnv?: string;
  /** Spec file: its name is part of the migration id. @default - the introspected spec, named cli-sync */
  readonly spec?: string;
}

/** postgres://user[:password]@host:port/db?sslmode=require → endpoint (the password is never printed). */
export function parsePostgresUrl(url: string, flag: string): DbEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SpecError(`${flag} is not a URL: expected postgres://user@host:5432/db`);
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) throw new SpecError(`${flag} must be a postgres:// URL`);
  const ssl = u.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(u.hostname) || 'localhost',
    port: Number(u.port || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(u.username) || process.env.PGUSER || '',
    // Empty: node-postgres falls back to PGPASSWORD, then the pgpass file.
    password: decodeURIComponent(u.password),
    ssl: ssl === 'require' ? 'require' : ssl === 'verify-full' ? 'verify-full' : undefined,
  };
}

/** The URL of one side from `--source` / `--source-env VAR` (exactly one of them). */
export function sideUrl(url: string | undefined, envVar: string | undefined, side: 'source' | 'target'): string {
  if (url && envVar) throw new SpecError(`pass --${side} or --${side}-env, not both`);
  if (envVar) {
    const v = process.env[envVar];
    if (!v) throw new SpecError(`--${side}-env ${envVar}: that environment variable is not set or empty`);
    return v;
  }
  if (!url) throw new SpecError(`--${side} <url> or --${side}-env <VAR> is required`);
  return url;
}

export function endpoints(o: SyncConnectOptions): { source: DbEndpoint; target: DbEndpoint } {
  return {
    source: parsePostgresUrl(sideUrl(o.source, o.sourceEnv, 'source'), '--source'),
    target: parsePostgresUrl(sideUrl(o.target, o.targetEnv, 'target'), '--target'),
  };
}

/** The migration id of a source/target/spec triple: `cli_` + 12 hex. Slot, publication and origin are named from it. */
export function syncMigrationId(source: DbEndpoint, target: DbEndpoint, specName: string): string {
  const h = createHash('sha256')
    .update(`${endpointLabel(source)}>${endpointLabel(target)}:${specName}`)
    .digest('hex');
  return `cli_${h.slice(0, 12)}`;
}

export function specNameOf(o: SyncConnectOptions): string {
  return o.spec ? loadSpecFile(o.spec).name : 'cli-sync';
}
