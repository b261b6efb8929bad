/**
 * The data migration engine: spec-driven COPY copy, deferred indexes, in-database checksums with bisect
 * (also under writes); change capture lives in ./sync.
 */
export * from './errors';
export * from './spec';
export * from './db';
export { describeTable, describeTables, describeTableWith, describeTablesWith } from './describe';
export {
  prepareTarget,
  checkSource,
  checkSources,
  checkTarget,
  checkTargets,
  META_SCHEMA,
  type PrepareOptions,
  type PrepareResult,
} from './prepare';
export {
  buildDeferredIndexes,
  type BuildIndexesOptions,
  type BuildIndexesResult,
  type DeferredWhat,
} from './deferred-indexes';
export { narrowing, type PgType } from './lossy';
export { sqlProblems } from './sql-guard';
export {
  planChunks,
  planTableChunks,
  loadPlan,
  groupChunks,
  type Chunk,
  type ChunkGroup,
  type ChunkGroups,
  type ChunkGroupOptions,
} from './plan';
export {
  chunkError,
  copyChunk,
  copyChunks,
  type ChunkToCopy,
  type CopyOptions,
  type CopyResult,
} from './copy';
export { copiedTables, copyTable, copyTables, planTables, type TableToCopyItem } from './copy-tables';
export { validateTable, type TableValidation, type Checksum, type KeyDifferences } from './validate';
export * from './sync';
