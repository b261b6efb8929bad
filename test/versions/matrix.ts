import type { DbEndpoint } from '../../lambda/engine';
import { asMigrationRole, freshDatabase, query, testServerOf, testServers } from '../support/pg';

/** One migration's two servers: `old` is the source of the forward sync, `new` its target. */
export interface Pair {
  readonly old: number;
  readonly new: number;
}

/** Cross-version pairs of the full matrix; each also runs the other way round (a downgrade, newer → older). */
const CROSS = [
  [13, 17],
  [14, 18],
  [15, 16],
  [16, 18],
  [17, 18],
] as const;

/**
 * The pairs a suite runs on: `npm test` (13 and 18 started) 13→18 and 18→13 (only 13→18 with
 * `upgradeOnly`: for suites whose other direction `npm test` covers elsewhere); `npm run test:versions`
 * every major against itself, and the cross-version pairs both ways.
 */
export function matrixPairs(o: { upgradeOnly?: boolean } = {}): Pair[] {
  const have = testServers();
  const pairs: Pair[] = [];
  const full = process.env.SWITCHYARD_TEST_MATRIX === 'full';
  if (full) for (const m of have.keys()) pairs.push({ old: m, new: m });
  const cross = full ? CROSS : ([[13, 18]] as const);
  for (const [a, b] of cross)
    if (have.has(a) && have.has(b))
      pairs.push(
        ...(full || !o.upgradeOnly
          ? [
              { old: a, new: b },
              { old: b, new: a },
            ]
          : [{ old: a, new: b }]),
      );
  return pairs;
}

/** Every started major (one suite per server). */
export function matrixMajors(): number[] {
  return [...testServers().keys()].sort((a, b) => a - b);
}

export const label = (p: Pair) => `PostgreSQL ${p.old} → ${p.new}`;

/** A database on `major`'s server as the non-superuser migration login (REPLICATION, owner), with `ddl` run. */
export async function roleDb(major: number, prefix: string, ddl: readonly string[] = []): Promise<DbEndpoint> {
  const db = await asMigrationRole(await freshDatabase(`${prefix}_${major}`, testServerOf(major)));
  for (const s of ddl) await query(db, s);
  return db;
}
