/**
 * Fencing in the destination database: `switchyard.fence` holds the highest lock token (per
 * stage) any writer has shown. A writer runs `assertFence` inside its own apply transaction: the
 * row is raised to its token, or, when a later execution already showed a higher one, the
 * transaction fails with StaleExecutionError and nothing of it commits. The row lock it takes
 * serializes two writers on the same destination until one commits.
 */
import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import { StaleExecutionError } from '../../core/lock/errors';
import { META_SCHEMA } from '../prepare';

/** Which stage's lock the token comes from, and the token this execution holds. */
export interface FenceToken {
  readonly stage: string;
  readonly token: number;
}

/** Create the fence table (idempotent; outside any apply transaction). */
export async function ensureFenceTable(c: Client): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard:fence'))`);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`);
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.fence (stage text PRIMARY KEY, token bigint NOT NULL, fenced_at timestamptz NOT NULL DEFAULT now())`,
    );
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Inside the caller's transaction: raise the stage's fence to `f.token`, or fail when a higher token was shown. */
export async function assertFence(c: Client, f: FenceToken): Promise<void> {
  const r = await c.query(
    `INSERT INTO ${META_SCHEMA}.fence AS f (stage, token) VALUES ($1, $2) ON CONFLICT (stage)
     DO UPDATE SET token = EXCLUDED.token, fenced_at = now() WHERE f.token <= EXCLUDED.token RETURNING token`,
    [f.stage, f.token],
  );
  if (r.rowCount) return;
  const held = await c.query(`SELECT token::text AS t FROM ${META_SCHEMA}.fence WHERE stage = $1`, [f.stage]);
  throw new StaleExecutionError(
    `stage ${f.stage}: this execution's lock token ${f.token} is older than token ${held.rows[0]?.t ?? '?'} ` +
      'a later execution wrote here with: this transaction was rolled back, nothing of it was applied',
  );
}

/**
 * Inside the caller's transaction, without serializing writers of the same execution: fail when a
 * later execution raised the stage's fence above `f.token`. FOR SHARE makes a later execution's
 * raise wait for this transaction, and this one see the raise when it came first (the copy's chunk
 * transactions run many at once; the apply transaction uses `assertFence`).
 */
export async function assertFenceShared(c: Client, f: FenceToken): Promise<void> {
  const r = await c.query(`SELECT token::text AS t FROM ${META_SCHEMA}.fence WHERE stage = $1 FOR SHARE`, [f.stage]);
  const held = r.rows[0]?.t as string | undefined;
  if (held === undefined || BigInt(held) <= BigInt(f.token)) return;
  throw new StaleExecutionError(
    `stage ${f.stage}: this execution's lock token ${f.token} is older than token ${held} a later execution ` +
      'wrote here with: this chunk was rolled back, nothing of it was copied',
  );
}

/**
 * Raise the fence on `db` to this execution's token in a transaction of its own: a stale execution
 * (a later one already wrote there) fails here, and from now on a stale one fails in its apply transaction.
 */
export async function raiseFence(db: DbEndpoint, f: FenceToken): Promise<void> {
  await withClient(db, { applicationName: 'switchyard-fence' }, async (c) => {
    await ensureFenceTable(c);
    await c.query('BEGIN');
    try {
      await assertFence(c, f);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

/**
 * The token a later execution raised the stage's fence to on `db` (a plain read, outside any apply
 * transaction: a watchdog's look), or undefined when none is later than `f.token`.
 */
export async function laterFenceToken(db: DbEndpoint, f: FenceToken): Promise<string | undefined> {
  return withClient(db, { applicationName: 'switchyard-fence' }, async (c) => {
    const r = await c.query(`SELECT token::text AS t FROM ${META_SCHEMA}.fence WHERE stage = $1`, [f.stage]);
    const held = r.rows[0]?.t as string | undefined;
    return held !== undefined && BigInt(held) > BigInt(f.token) ? held : undefined;
  });
}
