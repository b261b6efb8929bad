import { Client, ClientConfig } from 'pg';
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
}

/** Session settings that make text forms identical on both sides (dates, floats, bytea). */
const CANONICAL_SESSION = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; SET standard_conforming_strings = on";

/** A redacted label for messages: host:port/db, never the user or password. */
export function endpointLabel(e: DbEndpoint): string {
  return `${e.host}:${e.port}/${e.database}`;
}

/**
 * Open a connection with canonical session settings. `readOnly` connections are
 * enforced by the server (`default_transaction_read_only`): the source is only ever read.
 */
export async function connect(endpoint: DbEndpoint, opts: { readOnly?: boolean; applicationName?: string } = {}): Promise<Client> {
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
  const client = new Client(config);
  client.on('error', () => undefined); // a killed connection surfaces on the running query instead
  try {
    await client.connect();
    await client.query(CANONICAL_SESSION);
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new DatabaseUnreachableError(`cannot connect to ${endpointLabel(endpoint)}: ${describe(e)}`, { cause: e });
  }
  return client;
}

/** Run `fn` with a fresh connection, always closing it. */
export async function withClient<T>(endpoint: DbEndpoint, opts: { readOnly?: boolean; applicationName?: string }, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = await connect(endpoint, opts);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
