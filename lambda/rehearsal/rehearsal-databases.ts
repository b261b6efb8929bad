/**
 * The rehearsal's two databases: a PostgreSQL server (yours for tests, else embedded), a
 * non-superuser login owning both databases like the RDS master user, the old side (seeded chat
 * history, or a local copy of `--source`) and the new side (on a server of its own major for an
 * upgrade rehearsal).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, type DbEndpoint, type MigrationSpec, withClient } from '../engine';
import { introspectIdentitySpec } from '../engine/introspect';
import { getSpec } from '../engine/specs';
import { seedChatHistory } from './chat-history-seed';
import { startDetachedCluster } from './detached-cluster';
import { startLocalCluster } from './embedded-postgres';
import { copyToLocal } from './local-copy';
import { sourceEndpoint } from './rehearsal-input';
import type { RehearsalOptions } from './rehearse';
import { chatSpecForServers, ownedDatabaseOn, serverName, startNewSideCluster } from './version-servers';

/** What to undo at the end, run last-in first-out whatever happened. */
export type Cleanup = (() => Promise<void>)[];

export interface RehearsalSides {
  readonly source: DbEndpoint;
  readonly target: DbEndpoint;
  /** The spec the run migrates: as given, introspected from `--source`, or the chat spec for these servers. */
  readonly spec: MigrationSpec;
  /** The server of each side, e.g. `PostgreSQL 14.23`. */
  readonly postgres: { old: string; new: string };
  /** Where the password of a kept embedded server is (never printed). */
  readonly passFileNote: string;
}

type Say = (line: string) => void;
type Login = { readonly user: string; readonly password: string };

/** Start (or take) the server, create the login, and build the old and the new side. */
export async function prepareSides(
  opts: RehearsalOptions,
  spec: MigrationSpec,
  suffix: string,
  say: Say,
  cleanup: Cleanup,
): Promise<RehearsalSides> {
  const { server, passFileNote } = await rehearsalServer(opts, say, cleanup);
  const { login, owned } = await ownedDatabases(server, opts, suffix, cleanup);
  const old = await prepareOldSide(opts, spec, () => owned(`rehearsal_old_${suffix}`), say);
  // An upgrade rehearsal puts the new side on a server of its own major.
  const newCluster = opts.server ? undefined : await startNewSideCluster(opts, say);
  if (newCluster) cleanup.push(() => newCluster.stop());
  const target = newCluster
    ? await ownedDatabaseOn(newCluster.endpoint('postgres'), `rehearsal_new_${suffix}`, login)
    : await owned(`rehearsal_new_${suffix}`);
  const postgres = { old: await serverName(old.source), new: await serverName(target) };
  say(`PostgreSQL: old side ${postgres.old}, new side ${postgres.new}`);
  // The spec's expressions run on both servers (the copy on the source, the sync's apply on the destination).
  const onServers = old.spec === getSpec('chat-history') ? await chatSpecForServers(old.source, target) : old.spec;
  return { source: old.source, target, spec: onServers, postgres, passFileNote };
}

/** The superuser endpoint to work on: the given server, or an embedded one started here. */
async function rehearsalServer(
  opts: RehearsalOptions,
  say: Say,
  cleanup: Cleanup,
): Promise<{ server: DbEndpoint; passFileNote: string }> {
  if (opts.server) return { server: opts.server, passFileNote: 'the one of your own server' };
  say('starting embedded PostgreSQL ...');
  const cluster = opts.ownProcessGroup
    ? await startDetachedCluster({ cleanup: !opts.keep, major: opts.oldPg })
    : await startLocalCluster({ cleanup: !opts.keep, major: opts.oldPg });
  cleanup.push(() => cluster.stop());
  const server = cluster.endpoint('postgres');
  if (!opts.keep) return { server, passFileNote: 'the one of your own server' };
  say(`data directory kept: ${cluster.dataDir}`);
  // The password of this throwaway local server goes into a pgpass file (0600), not onto the screen.
  const file = path.join(path.dirname(cluster.dataDir), 'pgpass');
  fs.writeFileSync(file, `127.0.0.1:${cluster.port}:*:postgres:${server.password}\n`, { mode: 0o600 });
  return { server, passFileNote: `PGPASSFILE=${file}` };
}

/**
 * The service and the migration log in as a non-superuser (LOGIN REPLICATION, owner of both
 * databases), like the RDS master user: named `switchyard`, like the bookkeeping schema, on a
 * server of our own (a shared test server gets a name of its own, and its databases are dropped).
 */
async function ownedDatabases(
  server: DbEndpoint,
  opts: RehearsalOptions,
  suffix: string,
  cleanup: Cleanup,
): Promise<{ login: Login; owned: (name: string) => Promise<DbEndpoint> }> {
  const admin = await connect(server);
  const created: string[] = [];
  cleanup.push(async () => {
    if (opts.server && !opts.keep)
      for (const db of created.reverse())
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  });
  const login = {
    user: opts.server ? `sy_rehearsal_${suffix}` : 'switchyard',
    password: randomBytes(16).toString('hex'),
  };
  await admin.query(`CREATE ROLE ${login.user} LOGIN REPLICATION PASSWORD '${login.password}'`);
  cleanup.push(async () => {
    if (opts.server && !opts.keep) await admin.query(`DROP ROLE IF EXISTS ${login.user}`).catch(() => undefined);
  });
  const owned = async (name: string) => {
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const db = { ...server, database: name };
    await admin.query(`ALTER DATABASE ${name} OWNER TO ${login.user}`);
    const c = await connect(db);
    await c.query(`ALTER SCHEMA public OWNER TO ${login.user}`);
    await c.end();
    return { ...db, ...login };
  };
  return { login, owned };
}

/** The old side: a local copy of your database (`--source`, only read), else the seeded chat history. */
async function prepareOldSide(
  opts: RehearsalOptions,
  spec: MigrationSpec,
  create: () => Promise<DbEndpoint>,
  say: Say,
): Promise<{ source: DbEndpoint; spec: MigrationSpec }> {
  if (!opts.source) {
    const source = await create();
    const rows = opts.rows ?? 100_000;
    say(`seeding ${rows.toLocaleString()} chat messages ...`);
    const c = await connect(source);
    await seedChatHistory(c, rows);
    await c.end();
    return { source, spec };
  }
  // Your database is only read: the rehearsal's old side is a local copy of it (nothing is created there).
  const yours = sourceEndpoint(opts.source);
  say(`source: ${yours.host}:${yours.port}/${yours.database} (only read: the old side is a local copy)`);
  let used = spec;
  if (!opts.specFile && !(await holdsChatHistory(yours))) {
    // No spec and not the chat-history schema: every table, moved as is (the same introspection as `switchyard sync`).
    used = await introspectIdentitySpec(yours, undefined, 'introspected');
    say(
      `spec: none given; introspected ${used.tables.length} table(s), mapped as is: ` +
        used.tables.map((t) => t.name).join(', '),
    );
  }
  const source = await create();
  const copied = await copyToLocal(yours, source, used);
  say(`copied ${copied.toLocaleString()} rows of your database into the local old side`);
  return { source, spec: used };
}

function holdsChatHistory(db: DbEndpoint): Promise<boolean> {
  return withClient(db, { readOnly: true }, async (c) => {
    const r = await c.query(
      `SELECT to_regclass('public.chat_messages') IS NOT NULL AND to_regclass('public.chat_sessions') IS NOT NULL AS chat`,
    );
    return r.rows[0].chat === true;
  });
}
