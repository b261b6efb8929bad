import type { Client } from 'pg';
import { ApplierLockTimeoutError } from './errors';

/*
 * The applier lock: one apply transaction per slot at a time on the DESTINATION. On the source, a
 * streaming walsender holds the slot (a second run waits for it, receive.ts); on the destination,
 * each apply transaction holds a transaction advisory lock named for the slot until its COMMIT,
 * and dropSync takes the same lock before it forgets the position, so that an apply transaction
 * left open by a stopped applier is found (and, when stale, ended) by the next one.
 *
 * Bounded, with stale-holder takeover (a Lambda frozen or killed mid-batch keeps its connections,
 * and its lock, until the server notices):
 * - the lock is tried, never waited for blindly: while another session holds it, the holder is
 *   looked up (pg_locks + pg_stat_activity) every POLL_MS;
 * - a holder is STALE when it is the same login role, a Switchyard sync session (application_name
 *   `switchyard-sync…`), and has run no query for `staleMs` (state idle / idle in transaction since
 *   then). A live apply transaction runs statements (flushes, its COMMIT) within a few batchMs;
 *   a frozen one runs none. The stale holder's backend is ended with pg_terminate_backend (allowed
 *   for sessions of one's own role, also on RDS): its transaction rolls back, so exactly-once
 *   holds: the next applier restarts from the position stored in the destination;
 * - after `waitMs` without the lock, ApplierLockTimeoutError names the slot, the holder's pid,
 *   application and state, and what to do. A holder of another role, or one that keeps running
 *   queries, is never ended.
 * A live apply transaction that waits longer than `staleMs` (behind a local transaction holding a
 * row lock for minutes) can be taken for stale: it is ended, its batch rolls back and is applied
 * again by the next applier (nothing lost, nothing applied twice).
 */

export interface ApplierLockOptions {
  /** Give up after this long: ApplierLockTimeoutError. @default 120000 */
  readonly waitMs?: number;
  /** A Switchyard sync session of the same role that ran no query for this long holds the lock stale: it is ended. @default 60000 */
  readonly staleMs?: number;
}

export const APPLIER_LOCK_WAIT_MS = 120_000;
export const APPLIER_LOCK_STALE_MS = 60_000;
const POLL_MS = 250;

interface Holder {
  pid: number;
  application: string;
  state: string | null;
  idleMs: number | null;
  sameRole: boolean;
}

async function holderOf(c: Client, name: string): Promise<Holder | null> {
  const r = await c.query(
    `WITH k AS (SELECT hashtextextended($1, 0) AS key)
     SELECT l.pid, a.application_name AS application, a.state, a.usename = current_user AS same_role,
            (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::bigint AS idle_ms
       FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid, k
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid
      LIMIT 1`,
    [name],
  );
  if (!r.rowCount) return null;
  const h = r.rows[0];
  return {
    pid: h.pid as number,
    application: (h.application as string | null) ?? '',
    state: h.state as string | null,
    idleMs: h.idle_ms === null ? null : Number(h.idle_ms),
    sameRole: h.same_role === true,
  };
}

/** Stale: our role, a Switchyard sync session, and no query for `staleMs`. */
export function isStale(h: Holder, staleMs: number): boolean {
  return (
    h.sameRole &&
    h.application.startsWith('switchyard-sync') &&
    (h.state === 'idle' || h.state === 'idle in transaction' || h.state === 'idle in transaction (aborted)') &&
    h.idleMs !== null &&
    h.idleMs >= staleMs
  );
}

/**
 * Take the applier lock `name` on `c` (session-level, or for the current transaction with `xact`),
 * ending a stale holder, waiting at most `waitMs`. Returns the pid of a holder it ended, if any.
 */
export async function acquireApplierLock(
  c: Client,
  name: string,
  opts: ApplierLockOptions & { readonly xact?: boolean; readonly what?: string } = {},
): Promise<number | null> {
  const waitMs = opts.waitMs ?? APPLIER_LOCK_WAIT_MS;
  const staleMs = opts.staleMs ?? APPLIER_LOCK_STALE_MS;
  const fn = opts.xact ? 'pg_try_advisory_xact_lock' : 'pg_try_advisory_lock';
  const deadline = Date.now() + waitMs;
  let ended: number | null = null;
  let last: Holder | null = null;
  for (;;) {
    const got = await c.query(`SELECT ${fn}(hashtextextended($1, 0)) AS ok`, [name]);
    if (got.rows[0].ok === true) return ended;
    last = await holderOf(c, name);
    if (last && isStale(last, staleMs)) {
      await c.query(`SELECT pg_terminate_backend($1)`, [last.pid]);
      ended = last.pid;
    } else if (Date.now() >= deadline) {
      const who = last
        ? `pid ${last.pid} (${last.application || 'no application name'}, ${last.state ?? 'state not visible: another role'}` +
          `${last.idleMs !== null ? `, no query for ${Math.round(last.idleMs / 1000)} s` : ''})`
        : 'a session that released it just now';
      throw new ApplierLockTimeoutError(
        `${opts.what ?? 'the sync'} waited ${Math.round(waitMs / 1000)} s for the applier lock ${name}, held by ${who}. ` +
          'Another applier of this slot is running: let it finish and retry, or stop it. A session of another role ' +
          'or one still running queries is never ended automatically: end it with pg_terminate_backend(pid) if it is stuck',
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
