/**
 * Operator pause: after a traffic step's health gate passed, Migrate may hold at that step
 * (stage config / execution input `pauseAt`) until an operator resumes or aborts it, or until
 * `maxPauseSeconds` (lambda/core/limits.ts PAUSE_SECONDS) end it with a traffic rollback.
 *
 * The hold is a Step Functions task token (`.waitForTaskToken`). The Pause phase stores it with the
 * step's figures; `switchyard resume|abort` reads it and answers with SendTaskSuccess or
 * SendTaskFailure (MigrationAbortedError, which Migrate routes to its traffic rollback). This
 * file holds the decisions only: what is stored, whether a step pauses, what an answer is.
 */
import { ERRORS, SwitchyardError } from '../errors';

/** An operator aborted a paused step: Migrate rolls the traffic back to 100 % old. */
export class MigrationAbortedError extends SwitchyardError {
  readonly name = ERRORS.MigrationAbortedError;
}
/** Resume or abort found no paused step for the migration. */
export class NotPausedError extends SwitchyardError {
  readonly name = ERRORS.NotPausedError;
}
/** The pause ran past its maximum: Migrate has already rolled the traffic back. */
export class PauseExpiredError extends SwitchyardError {
  readonly name = ERRORS.PauseExpiredError;
}

/** One held step, as stored (lock table item `pause#<stage>#<migrationId>`): identifiers, figures, the token. */
export interface PauseRecord {
  readonly stage: string;
  readonly migrationId: string;
  /** The Migrate execution that holds. */
  readonly executionId: string;
  /** Percent of traffic on the new side while paused. */
  readonly weight: number;
  /** The step's health gate verdict and its summary (figures only). */
  readonly healthy: boolean;
  readonly summary?: string;
  /** The Step Functions task token: answered once, never logged nor notified. */
  readonly taskToken: string;
  readonly pausedAt: Date;
  /** After this instant the pause state has timed out (Migrate rolled back). */
  readonly expiresAt: Date;
}

/** Where the Pause phase keeps the token and the operator's command finds it. */
export interface PauseStore {
  record(pause: PauseRecord): Promise<void>;
  read(stage: string, migrationId: string): Promise<PauseRecord | undefined>;
  /** Delete the record if it still holds this token (a later pause of the same migration is kept). */
  clear(stage: string, migrationId: string, taskToken: string): Promise<void>;
}

/** Why a pause list does not fit a schedule (undefined when it does): each pause must be a step of it. */
export function pauseAtProblem(pauseAt: readonly number[], schedule: readonly number[]): string | undefined {
  const outside = pauseAt.filter((w) => !schedule.includes(w));
  if (!outside.length) return undefined;
  return `must be steps of the weight schedule (${schedule.join(', ')}), got: ${outside.join(', ')}`;
}

/** What the Pause phase is told when a step holds. */
export interface HoldRequest {
  readonly stage: string;
  readonly migrationId: string;
  readonly executionId: string;
  readonly weight: number;
  readonly healthy: boolean;
  readonly summary?: string;
  readonly taskToken: string;
  readonly maxPauseSeconds: number;
}

/** The record of a step that holds from `now`: it expires with the pause state's timeout. */
export function holdStep(req: HoldRequest, now: Date): PauseRecord {
  const { maxPauseSeconds, ...rest } = req;
  return { ...rest, pausedAt: now, expiresAt: new Date(now.getTime() + maxPauseSeconds * 1000) };
}

/** The operator's answer to a held step: the Step Functions call to make. */
export type PauseAnswer =
  | { readonly kind: 'resume'; readonly taskToken: string; readonly output: Record<string, unknown> }
  | { readonly kind: 'abort'; readonly taskToken: string; readonly error: string; readonly cause: string };

export interface AnswerRequest {
  readonly stage: string;
  readonly migrationId: string;
  readonly action: 'resume' | 'abort';
  readonly now: Date;
  /** Who answers (an IAM identity or a user name), kept in the execution history. @default 'operator' */
  readonly by?: string;
}

/**
 * Decide the answer to a paused step: resume (SendTaskSuccess, the output lands in `$.pause`) or
 * abort (SendTaskFailure with MigrationAbortedError). No record: NotPausedError; a record past
 * its maximum: PauseExpiredError (the rollback already ran).
 */
export function answerPause(record: PauseRecord | undefined, req: AnswerRequest): PauseAnswer {
  const which = `migration ${req.migrationId} on stage ${req.stage}`;
  if (!record)
    throw new NotPausedError(
      `${which} is not paused (no pause recorded): check its execution with \`switchyard status --stage ${req.stage}\``,
    );
  if (record.expiresAt.getTime() <= req.now.getTime())
    throw new PauseExpiredError(
      `the pause of ${which} at ${record.weight} % ended at ${record.expiresAt.toISOString()} (its maximum): ` +
        'Migrate rolled the traffic back; start a new migration when ready',
    );
  const by = req.by ?? 'operator';
  if (req.action === 'resume')
    return {
      kind: 'resume',
      taskToken: record.taskToken,
      output: { resumed: true, weight: record.weight, by, at: req.now.toISOString() },
    };
  return {
    kind: 'abort',
    taskToken: record.taskToken,
    error: ERRORS.MigrationAbortedError,
    cause: `aborted by ${by} while paused at ${record.weight} % new: traffic goes back to 100 % old`,
  };
}
