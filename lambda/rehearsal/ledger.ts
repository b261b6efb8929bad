import { createHash } from 'node:crypto';
import type { DbEndpoint } from '../engine/db';
import { connect } from '../engine/db';
import { qi } from '../engine/sql';
import type { MessageSchema } from './http-apps';

import type { Side } from './weighted-router';

export type { Side };

/** One write the app acknowledged (2xx): what the client may now rely on. */
export interface AcknowledgedWrite {
  readonly op: 'create' | 'edit' | 'delete';
  readonly key: string;
  /** sha256 of the content written; null for a delete. */
  readonly contentHash: string | null;
  /** Global acknowledgement order (one client owns a key, so this is that key's commit order). */
  readonly seq: number;
  readonly ackAt: number;
  /** The side that served it (from the router's x-switchyard-side header). */
  readonly side: Side;
  /** Index of the traffic window it was acknowledged in (router.windows). */
  readonly step: number;
}

export const contentHash = (content: string) => createHash('sha256').update(content, 'utf8').digest('hex');

/** The integrity claim from the clients' side. */
export interface WriteCounts {
  /** Writes the app acknowledged. */
  acknowledged: number;
  /** The last acknowledged write of a key whose effect is in the database that serves 100 % at the end. */
  present: number;
  /** The last acknowledged write of a key whose effect is NOT there (a lost write). */
  lost: number;
  /** Acknowledged writes followed by a later acknowledged write to the same key. */
  superseded: number;
}

export interface WriteIntegrity extends WriteCounts {
  /** Same-row writes on both sides resolved by the sync's conflict rule (both databases' conflict tables). */
  conflicts: number;
  /** Which database the ledger was checked against. */
  checkedOn: Side;
  /** Per traffic window (index into the report's traffic steps). */
  perStep: (WriteCounts & { step: number })[];
  /** Up to 10 lost keys, for the operator to look at (keys only, no content). */
  lostKeys: string[];
}

/** An append-only ledger of acknowledged writes, shared by the clients. */
export class WriteLedger {
  public readonly writes: AcknowledgedWrite[] = [];
  private seq = 0;

  record(w: Omit<AcknowledgedWrite, 'seq' | 'ackAt'>): void {
    this.writes.push({ ...w, seq: this.seq++, ackAt: Date.now() });
  }
}

/**
 * Check every acknowledged write against the database that serves 100 % at the end: the
 * last write of each key must be there (content hash equal), or absent for a delete.
 */
export async function checkLedger(
  ledger: readonly AcknowledgedWrite[],
  db: DbEndpoint,
  schema: MessageSchema,
  checkedOn: Side,
  conflictDbs: DbEndpoint[] = [],
): Promise<WriteIntegrity> {
  const last = new Map<string, AcknowledgedWrite>();
  for (const w of ledger) if ((last.get(w.key)?.seq ?? -1) < w.seq) last.set(w.key, w);
  const keys = [...last.keys()];
  const stored = new Map<string, string>();
  const c = await connect(db);
  try {
    for (let i = 0; i < keys.length; i += 5000) {
      const r = await c.query(
        `SELECT ${qi(schema.key)}::text AS k, ${qi(schema.content)} AS content FROM ${schema.table} WHERE ${qi(schema.key)} = ANY($1::bigint[])`,
        [keys.slice(i, i + 5000)],
      );
      for (const row of r.rows as { k: string; content: string | null }[])
        stored.set(row.k, contentHash(row.content ?? ''));
    }
  } finally {
    await c.end();
  }
  const isLost = (w: AcknowledgedWrite) =>
    w.op === 'delete' ? stored.has(w.key) : stored.get(w.key) !== w.contentHash;
  const empty = (): WriteCounts => ({ acknowledged: 0, present: 0, lost: 0, superseded: 0 });
  const total = empty();
  const steps = new Map<number, WriteCounts>();
  const lostKeys: string[] = [];
  for (const w of ledger) {
    const step = steps.get(w.step) ?? empty();
    steps.set(w.step, step);
    for (const counts of [total, step]) {
      counts.acknowledged++;
      if (last.get(w.key) !== w) counts.superseded++;
      else if (isLost(w)) counts.lost++;
      else counts.present++;
    }
    if (last.get(w.key) === w && isLost(w) && lostKeys.length < 10) lostKeys.push(w.key);
  }
  return {
    ...total,
    conflicts: await countConflicts(conflictDbs),
    checkedOn,
    perStep: [...steps.entries()].sort(([a], [b]) => a - b).map(([step, counts]) => ({ step, ...counts })),
    lostKeys,
  };
}

/** Conflicts the sync recorded (switchyard.conflicts), 0 where the table does not exist. */
async function countConflicts(dbs: DbEndpoint[]): Promise<number> {
  let n = 0;
  for (const db of dbs) {
    const c = await connect(db);
    try {
      const exists = await c.query(`SELECT to_regclass('switchyard.conflicts') IS NOT NULL AS e`);
      if (exists.rows[0].e)
        n += Number((await c.query('SELECT count(*)::int AS n FROM switchyard.conflicts')).rows[0].n);
    } finally {
      await c.end();
    }
  }
  return n;
}
