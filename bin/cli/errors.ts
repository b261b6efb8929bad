/** Errors the operator CLI reports by name, each with what to do about it. */
export class CliError extends Error {
  /** The process exit code this error ends the CLI with. */
  public readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** A command line the CLI cannot run (unknown command or flag, bad or missing value): exit 2. */
export class UsageError extends CliError {
  public override readonly exitCode = 2;
}
export class NoCredentialsError extends CliError {}
export class NoRegionError extends CliError {}
export class AwsUnreachableError extends CliError {}
export class AccessDeniedError extends CliError {}
export class StackNotDeployedError extends CliError {}
export class MigrationAlreadyRunningError extends CliError {}
export class ExecutionFailedError extends CliError {}
/** The user pressed Ctrl-C (or the process got SIGTERM): exit 130. */
export class InterruptedError extends CliError {
  public override readonly exitCode = 130;
}
/** `sync switchover`: sessions on the source still write and this login cannot end them. */
export class SourceNotFencedError extends CliError {}
/** `sync switchover`: the sync did not get under the lag limit in time (nothing was changed). */
export class SyncNotCaughtUpError extends CliError {}
