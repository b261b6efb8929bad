/**
 * The Preflight pack: every check Preflight runs, in report order. To add a check: one file in
 * this folder exporting a `PackCheck<PreflightContext>` (name, info, check returning
 * pass / fail / not-applicable with the fix), and one line here.
 */
import type { PackCheck } from '../../core/preflight/pack';
import { configuration } from './configuration';
import { connections } from './connections';
import type { PreflightContext } from './context';
import { healthAlarms } from './health-alarms';
import { lastSnapshot } from './last-snapshot';
import { replication } from './replication';
import { routing } from './routing';
import { slotWalLimit } from './slot-wal-limit';
import { sourceDatabase } from './source-database';
import { storageHeadroom } from './storage-headroom';
import { targetDatabase } from './target-database';

export type { PreflightContext };

export const PREFLIGHT_PACK: readonly PackCheck<PreflightContext>[] = [
  sourceDatabase,
  replication,
  slotWalLimit,
  storageHeadroom,
  connections,
  targetDatabase,
  configuration,
  healthAlarms,
  lastSnapshot,
  routing,
];
