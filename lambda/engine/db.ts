import { Client, type ClientConfig, type QueryResult, type QueryResultRow } from 'pg';
import { DatabaseUnreachableError, describe } from './errors';

/** Where a database is and how to log in. Built from a secret by the caller; never logged. */
export interface DbEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** TLS: `require` verifies nothing but encrypts; `verify-full` needs a CA bundle. @default - no TLS */
  readonly ssl?: 'require' | 'verify-full';
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * A role with SELECT only, assumed (`SET ROLE`) by every read-only session after login:
   * even a write the checks miss is refused for lack of privilege. From config; the login must be a member.
   * @default - the login's own privileges (still read-only: see `connect`)
   */
  readonly readOnlyRole?: string;
}

/** Session settings that make text forms identical on both sides (dates, floats, bytea). */
const CANONICAL_SESSION =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; SET standard_conforming_strings = on";

/** A redacted label for messages: host:port/db, never the user or password. */
export function endpointLabel(e: DbEndpoint): string {
  return `${e.host}:${e.port}/${e.database}`;
}

/**
 * Open a connection with canonical session settings. `readOnly` connections are
 * enforced by the server (`default_transaction_read_only`, and `readOnlyRole` when
 * configured); every source transaction is also `BEGIN READ ONLY` (see `readOnly`), which
 * nothing inside the transaction can switch back: the source is only ever read.
 */
export async function connect(
  endpoint: DbEndpoint,
  opts: { readOnly?: boolean; applicationName?: string; replication?: boolean } = {},
): Promise<Client> {
  const config: ClientConfig = {
    host: endpoint.host,
    port: endpoint.port,
    database: endpoint.database,
    user: endpoint.user,
    password: endpoint.password,
    connectionTimeoutMillis: endpoint.connectTimeoutMs ?? 10_000,
    application_name: opts.applicationName ?? 'switchyard',
    ssl: endpoint.ssl ? { rejectUnauthorized: endpoint.ssl === 'verify-full' } : undefined,
    options: opts.readOnly ? '-c default_transaction_read_only=on' : undefined,
  };
  // A walsender connection (sync/receive.ts): it takes START_REPLICATION and plain SQL.
  if (opts.replication) Object.assign(config, { replication: 'database' });
  const client = new Client(config);
  client.on('error', () => undefined); // a killed connection surfaces on the running query instead
  try {
    await client.connect();
    await client.query(CANONICAL_SESSION);
    if (opts.readOnly && endpoint.readOnlyRole)
      await client.query(`SET ROLE "${endpoint.readOnlyRole.replace(/"/g, '""')}"`);
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new DatabaseUnreachableError(`cannot connect to ${endpointLabel(endpoint)}: ${describe(e)}`, { cause: e });
  }
  return client;
}

/** Run `fn` with a fresh connection, always closing it. */
export async function withClient<T>(
  endpoint: DbEndpoint,
  opts: { readOnly?: boolean; applicationName?: string },
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  const client = await connect(endpoint, opts);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Run `fn` in a `BEGIN READ ONLY` transaction on `c` (a source connection). A read-only
 * transaction cannot be made read-write once it has run a query, so neither
 * `set_config('default_transaction_read_only', …)` nor `SET TRANSACTION` inside it can
 * open a write path. Rolled back at the end: nothing to commit.
 */
export async function readOnly<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN READ ONLY');
  try {
    return await fn();
  } finally {
    await bounded(c.query('ROLLBACK'));
  }
}

/**
 * Wait for a cleanup query (ROLLBACK) at most `ms`, ignoring its failure: on a connection the
 * server has just killed, the client may not have noticed yet and the query would never settle.
 * The caller closes such a connection anyway.
 */
export async function bounded(p: Promise<unknown>, ms = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** One query in its own read-only transaction (see `readOnly`). */
export async function readOnlyQuery<R extends QueryResultRow = QueryResultRow>(
  c: Client,
  text: string,
  values?: unknown[],
): Promise<QueryResult<R>> {
  return readOnly(c, () => c.query<R>(text, values));
}
