/**
 * The one error base class and the one catalog of error names.
 *
 * A Step Functions Retry/Catch matches a task failure by the error's `name`; the state
 * machines import these names from here (lib/constructs/workflows), never copy them as
 * strings. Names are set explicitly, not from the class name: the bundled handlers are
 * minified, which renames classes.
 *
 * Messages name tables, keys, columns, chunks and resources; never a row value, a
 * secret value or a password.
 */
const NAMES = [
  // input and configuration
  'InvalidInputError',
  // a rollback named a migration id that has no capture, while another migration's capture exists
  'UnknownMigrationIdError',
  'ConfigurationError',
  'UnknownSpecError',
  // data engine
  'SpecError',
  'SchemaMismatchError',
  'LossyTypeError',
  'DatabaseUnreachableError',
  'ChunkCopyError',
  'IntegrityMismatchError',
  // validation ran out of its invocation's time budget before every table was decided
  'ValidationIncompleteError',
  'UnsafeExpressionError',
  // change capture (sync)
  'ReplicationNotConfiguredError',
  'ReplicationSlotMissingError',
  // the slot is gone but its publication is not: a failover, promotion or restore of the source
  'SourceFailoverError',
  'ReplicationSlotInvalidatedError',
  'ReplicationSlotActiveError',
  'UnsupportedChangeError',
  'SyncLagError',
  // one source transaction did not finish applying within a bounded run's hard deadline (Lambda)
  'TransactionTooLargeError',
  // sync.runner ecs: the long-running sync task stopped while the workflow counted on it (or would not stop)
  'SyncTaskStoppedError',
  'SyncTaskStopTimeoutError',
  'ReplicaIdentityMissingError',
  'ReverseMappingMissingError',
  'CommitTimestampsOffError',
  'SyncTargetNotEmptyError',
  // a server outside the supported range, or lacking a capability or privilege the operation needs
  'ServerTooOldError',
  'ServerCapabilityMissingError',
  'ApplierLockTimeoutError',
  'SyncApplyError',
  // a traffic rollback could not return every new-side write (drain failed, or the new side never went quiet)
  'ReverseDrainFailedError',
  // guardrails and lock
  'PreflightNoGoError',
  'MigrationLockedError',
  'MigrationHaltedError',
  'DecommissionRefusedError',
  // operator control: a step held after its gate (pause), ended by resume or abort
  'MigrationAbortedError',
  'NotPausedError',
  'PauseExpiredError',
  // fencing: this execution lost the stage lock (lease ended or taken over): it stops, touching nothing
  'StaleExecutionError',
  'NewSideUnhealthy',
  'SmokeCheckFailedError',
  // service verification: a smoke request got no HTTP answer (timeout, connection refused)
  'HttpProbeError',
  // backup and restore
  'SnapshotConflictError',
  'SnapshotFailedError',
  'SnapshotTimeoutError',
  'RestoreNotReadyError',
  'RestoreFailedError',
  // traffic
  'WeightReadBackError',
  'InvalidWeightsError',
  'NotFullyShiftedError',
  'DnsChangeTimeoutError',
  // config transfer
  'ConfigTransferError',
  'ConfigVerificationError',
  // AWS adapters
  'AwsAccessDeniedError',
  'AwsResourceNotFoundError',
  'InvalidDatabaseSecretError',
  'AwsThrottledError',
  'IdentifierTooLongError',
  // data engine: a chunk failing the same way on every try (bad data, constraint): never retried
  'ChunkDataError',
  // data restore: the restore's instance id is taken by an instance that is not this migration's
  'RestoreConflictError',
] as const;

export type ErrorName = (typeof NAMES)[number];

/** `ERRORS.ChunkCopyError === 'ChunkCopyError'`: the catalog the state machines and tests import. */
export const ERRORS = Object.fromEntries(NAMES.map((n) => [n, n])) as { readonly [K in ErrorName]: K };

/** Every named Switchyard error. Subclasses declare `readonly name = ERRORS.Xxx`. */
export abstract class SwitchyardError extends Error {
  abstract override readonly name: ErrorName;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `Name: message` of a caught error, for a reason in a report (the caller makes sure it holds no value). */
export function describeError(e: unknown): string {
  return `${(e as Error | undefined)?.name ?? 'Error'}: ${(e as Error | undefined)?.message ?? String(e)}`;
}
