/**
 * What a server is busy with, as Preflight reads it (any login may: no superuser, no extension).
 * Read-only queries, named so that they read the same in psql.
 */
import type { Client } from 'pg';
import type { ConnectionUse } from '../core/preflight/connections';
import { type DbEndpoint, withClient } from './db';

/** max_connections, the reserved slots, and the client backends in use now. */
const CONNECTION_USE_SQL = `SELECT current_setting('max_connections')::int AS max,
        current_setting('superuser_reserved_connections')::int
          + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
        (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use`;

/** Transactions of this database open longer than $1 seconds (not counting this session), and the oldest one's age. */
const LONG_TRANSACTIONS_SQL = `SELECT count(*)::int AS n, coalesce(max(extract(epoch FROM now() - xact_start)), 0)::int AS oldest
   FROM pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start < now() - make_interval(secs => $1)`;

export async function connectionUse(db: DbEndpoint): Promise<ConnectionUse> {
  return withClient(db, { readOnly: true, applicationName: 'switchyard-preflight' }, async (c) => {
    const r = (await c.query(CONNECTION_USE_SQL)).rows[0];
    return { maxConnections: r.max, reserved: r.reserved, inUse: r.in_use };
  });
}

export interface LongTransactions {
  readonly count: number;
  readonly oldestSeconds: number;
}

export async function longTransactions(c: Client, olderThanSeconds: number): Promise<LongTransactions> {
  const r = (await c.query(LONG_TRANSACTIONS_SQL, [olderThanSeconds])).rows[0];
  return { count: r.n, oldestSeconds: r.oldest };
}
