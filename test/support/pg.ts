import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { connect, type DbEndpoint } from '../../lambda/engine/db';

/** The shared test server started by test/setup/pg-global-setup.ts. */
export function testServer(): DbEndpoint {
  const raw = process.env.SWITCHYARD_TEST_PG;
  if (!raw) throw new Error('SWITCHYARD_TEST_PG is not set: run through jest (globalSetup starts embedded PostgreSQL)');
  return JSON.parse(raw) as DbEndpoint;
}

/** Every test server by major (13 and 18 in `npm test`; 13–18 in `npm run test:versions`). */
export function testServers(): Map<number, DbEndpoint> {
  const raw = process.env.SWITCHYARD_TEST_PG_SERVERS;
  const all = raw ? (JSON.parse(raw) as Record<string, DbEndpoint>) : { 18: testServer() };
  return new Map(Object.entries(all).map(([k, v]) => [Number(k), v]));
}

/** The test server of one major (its superuser endpoint). */
export function testServerOf(major: number): DbEndpoint {
  const s = testServers().get(major);
  if (!s) throw new Error(`no PostgreSQL ${major} test server was started (see test/setup)`);
  return s;
}

/** The superuser endpoint of the server `db` lives on. */
function adminOf(db: DbEndpoint): DbEndpoint {
  for (const s of testServers().values()) if (s.port === db.port && s.host === db.host) return s;
  return testServer();
}

/** A fresh, empty database on the test server (or on `server`), owned by the superuser. */
export async function freshDatabase(prefix: string, server: DbEndpoint = testServer()): Promise<DbEndpoint> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await connect(server);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return { ...server, database: name };
}

const ROLE_PASSWORD = 'switchyard-test-only';

/**
 * A non-superuser login like the one a migration uses on RDS: LOGIN + REPLICATION, owner of
 * its databases (as the RDS master user owns the app's), NOT superuser. Its default name is
 * `switchyard`, the same as the bookkeeping schema, on purpose: with search_path
 * `"$user", public` an unqualified CREATE TABLE would land in the wrong schema.
 * Returns the endpoint of `db` as that login. Idempotent across test files (roles are cluster-wide).
 */
export async function asMigrationRole(db: DbEndpoint, name = 'switchyard'): Promise<DbEndpoint> {
  const admin = await connect(adminOf(db));
  try {
    await admin.query(
      `DO $$ BEGIN CREATE ROLE ${name} LOGIN REPLICATION PASSWORD '${ROLE_PASSWORD}'; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    );
    await admin.query(`ALTER DATABASE ${db.database} OWNER TO ${name}`);
  } finally {
    await admin.end();
  }
  const c = await connect({ ...adminOf(db), database: db.database });
  try {
    await c.query(`ALTER SCHEMA public OWNER TO ${name}`);
  } finally {
    await c.end();
  }
  return { ...db, user: name, password: ROLE_PASSWORD };
}

export async function query<T = Record<string, unknown>>(
  db: DbEndpoint,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c: Client = await connect(db);
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A source database seeded with `rows` chat-history messages, and an empty target, on the test server. */
export async function seededPair(prefix: string, rows: number): Promise<{ source: DbEndpoint; target: DbEndpoint }> {
  const { seedChatHistory } = await import('../../lambda/rehearsal/chat-history-seed');
  const source = await freshDatabase(`${prefix}src`);
  const target = await freshDatabase(`${prefix}tgt`);
  const c = await connect(source);
  try {
    await seedChatHistory(c, rows);
  } finally {
    await c.end();
  }
  return { source, target };
}
