import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { connect, type DbEndpoint } from '../../lambda/engine/db';

/** The shared test server started by test/setup/pg-global-setup.ts. */
export function testServer(): DbEndpoint {
  const raw = process.env.SWITCHYARD_TEST_PG;
  if (!raw) throw new Error('SWITCHYARD_TEST_PG is not set: run through jest (globalSetup starts embedded PostgreSQL)');
  return JSON.parse(raw) as DbEndpoint;
}

/** A fresh, empty database on the test server (owned by the superuser). */
export async function freshDatabase(prefix: string): Promise<DbEndpoint> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await connect(testServer());
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return { ...testServer(), database: name };
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
  const admin = await connect(testServer());
  try {
    await admin.query(
      `DO $$ BEGIN CREATE ROLE ${name} LOGIN REPLICATION PASSWORD '${ROLE_PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
    await admin.query(`ALTER DATABASE ${db.database} OWNER TO ${name}`);
  } finally {
    await admin.end();
  }
  const c = await connect(db);
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
