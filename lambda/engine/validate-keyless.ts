import { connect, type DbEndpoint, readOnlyQuery, withClient } from './db';
import { COPY_POINT } from './copy';
import { checksumSql, FULL_RANGE, sourceCompareSelect, type TableLayout, targetSelect } from './sql';

/**
 * One comparison of a keyless table at a consistent cut while the source takes writes (its rows
 * have no keys to recheck one by one): the source's count and hash sum in one REPEATABLE READ
 * snapshot, then `applyUntil` (the forward sync) applies exactly the source transactions committed
 * before the WAL insert position read just after that snapshot, then the target's. True when they
 * are equal. A transaction that commits between the snapshot and that position (a short window)
 * makes them differ although nothing is wrong: the caller tries again, and reports a mismatch only
 * when no try matched.
 */
export async function keylessCutMatches(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  applyUntil: (lsn: string) => Promise<unknown>,
): Promise<boolean> {
  const src = await connect(source, { readOnly: true, applicationName: 'switchyard-validate' });
  let at: string;
  let before: { rows: string; hash: string };
  try {
    await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    at = (await src.query(COPY_POINT)).rows[0].lsn as string;
    before = (await src.query(checksumSql(sourceCompareSelect(layout, FULL_RANGE)))).rows[0];
    await src.query('COMMIT');
  } finally {
    await src.end().catch(() => undefined);
  }
  await applyUntil(at);
  const after = await withClient(target, { readOnly: true, applicationName: 'switchyard-validate' }, async (c) => {
    return (await readOnlyQuery(c, checksumSql(targetSelect(layout, FULL_RANGE)))).rows[0];
  });
  return String(before.rows) === String(after.rows) && before.hash === after.hash;
}
