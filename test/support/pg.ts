import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { connect, DbEndpoint } from '../../lambda/engine/db';

/** The shared test server started by test/setup/pg-global-setup.ts. */
export function testServer(): DbEndpoint {
  const raw = process.env.SWITCHYARD_TEST_PG;
  if (!raw) throw new Error('SWITCHYARD_TEST_PG is not set: run through jest (globalSetup starts embedded PostgreSQL)');
  return JSON.parse(raw) as DbEndpoint;
}

/** A fresh, empty database on the test server. */
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

export async function query<T = Record<string, unknown>>(db: DbEndpoint, sql: string, params: unknown[] = []): Promise<T[]> {
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
