/**
 * An upgrade rehearsal (`--old-pg 14 --new-pg 17`): the old side on one major, the new side on
 * another, each on an embedded server of its own; the chat-history spec in the form the old
 * major can run.
 */
import { capabilities } from '../engine/capabilities';
import { connect, type DbEndpoint, withClient } from '../engine/db';
import type { MigrationSpec } from '../engine/spec';
import { chatHistorySpecFor } from '../engine/specs/chat-history';
import { startDetachedCluster } from './detached-cluster';
import { type LocalCluster, startLocalCluster } from './embedded-postgres';
import { DEFAULT_PG_MAJOR } from './pg-binaries';

export interface PgVersionOptions {
  /** Major of the old side's embedded server. @default 18 */
  readonly oldPg?: number;
  /** Major of the new side's embedded server (a second server when it differs from oldPg). @default 18 */
  readonly newPg?: number;
}

/** The server of the new side when it runs another major than the old side's, else undefined. */
export async function startNewSideCluster(
  opts: PgVersionOptions & { keep?: boolean; ownProcessGroup?: boolean },
  say: (line: string) => void,
): Promise<LocalCluster | undefined> {
  const oldPg = opts.oldPg ?? DEFAULT_PG_MAJOR;
  const newPg = opts.newPg ?? DEFAULT_PG_MAJOR;
  if (oldPg === newPg) return undefined;
  say(`starting embedded PostgreSQL ${newPg} for the new side ...`);
  const o = { cleanup: !opts.keep, major: newPg };
  return opts.ownProcessGroup ? startDetachedCluster(o) : startLocalCluster(o);
}

/** A database on `server` owned by `login` (created there as LOGIN REPLICATION, not superuser, when missing). */
export async function ownedDatabaseOn(
  server: DbEndpoint,
  name: string,
  login: { user: string; password: string },
): Promise<DbEndpoint> {
  const admin = await connect(server);
  try {
    const role = await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [login.user]);
    if (!role.rowCount)
      await admin.query(`CREATE ROLE ${login.user} LOGIN REPLICATION PASSWORD '${login.password.replace(/'/g, "''")}'`);
    await admin.query(`CREATE DATABASE ${name} OWNER ${login.user}`);
  } finally {
    await admin.end();
  }
  await withClient({ ...server, database: name }, {}, (c) => c.query(`ALTER SCHEMA public OWNER TO ${login.user}`));
  return { ...server, database: name, ...login };
}

/** `PostgreSQL 14.23` — how the report names a side's server. */
export async function serverName(db: DbEndpoint): Promise<string> {
  return withClient(db, { readOnly: true }, async (c) => (await capabilities(c)).name);
}

/**
 * The chat-history spec both servers can run: its expressions run on the source (the copy's
 * projection) and on the destination (the sync applies through the projection), and its metadata
 * check needs `IS JSON` (16+) or a fallback.
 */
export async function chatSpecForServers(source: DbEndpoint, target: DbEndpoint): Promise<MigrationSpec> {
  const major = async (db: DbEndpoint) =>
    withClient(db, { readOnly: true }, async (c) => (await capabilities(c)).major);
  return chatHistorySpecFor(Math.min(await major(source), await major(target)));
}
