/** Change data capture (pgoutput logical decoding) and apply, both directions. See README.md. */
export * from './errors';
export { syncNames, syncObjectName, type Direction, type SyncNames } from './names';
export {
  createSync,
  dropSync,
  slotStatus,
  assertSlotUsable,
  checkSyncPreconditions,
  leftBehindHint,
  type SlotStatus,
  type CreateSyncResult,
  type PreconditionCheck,
} from './slot';
export { runSync, type SyncRunOptions, type SyncRunResult, type SyncProgress } from './run';
export {
  reverseMapping,
  checkReverseMappings,
  directedTableSpec,
  qualifiedTableSpec,
  roundTripCheck,
  type RoundTripReport,
  type RoundTripColumn,
} from './reverse';
export { moveSequencesPast, type SequenceMove } from './sequences';
export { parseLsn, formatLsn } from './pgoutput';
export { assertNoKeylessBack, publishedTables } from './tables';
export { installTombstones, tombstoneTables, type TombstoneTable } from './tombstones';
export {
  assertFence,
  assertFenceShared,
  ensureFenceTable,
  laterFenceToken,
  raiseFence,
  type FenceToken,
} from './fence';
export { pendingChanges, type PendingChanges } from './pending';
