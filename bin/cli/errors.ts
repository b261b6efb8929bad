/** Errors the operator CLI reports by name, each with what to do about it. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class UsageError extends CliError {}
export class NoCredentialsError extends CliError {}
export class StackNotDeployedError extends CliError {}
export class MigrationAlreadyRunningError extends CliError {}
export class ExecutionFailedError extends CliError {}
