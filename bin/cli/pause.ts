import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { DynamoPauseStore } from '../../lambda/adapters/aws/dynamo-pause';
import { ERRORS } from '../../lambda/core/errors';
import { answerPause, NotPausedError, type PauseRecord } from '../../lambda/core/traffic/pause';
import type { StageName } from '../../lib/config/stages';
import { StageLockTable } from '../../lib/constructs/workflows/lock-table';
import { mapCliAwsError } from './aws';
import { AccessDeniedError } from './errors';

/** What `resume` and `abort` run against (SDK clients in bin/cli/main.ts, mocks in tests). */
export interface PauseCliDeps {
  readonly sfn: SFNClient;
  readonly ddb: DynamoDBClient;
  readonly print: (line: string) => void;
  readonly now?: () => Date;
}

export interface AnswerPauseOptions {
  readonly stage: StageName;
  readonly migrationId: string;
  readonly action: 'resume' | 'abort';
  /** Who answers, kept in the execution history. @default 'operator' */
  readonly by?: string;
}

const OPERATOR_GRANTS = (table: string) =>
  `your role needs dynamodb:GetItem and dynamodb:DeleteItem on table ${table}, and states:SendTaskSuccess and ` +
  'states:SendTaskFailure (README, "Operator CLI")';

/** A denied call names the operator's grants; every other SDK failure maps as in the other commands. */
async function aws<T>(table: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const name = (e as { name?: string })?.name ?? '';
    if (name === ERRORS.AwsAccessDeniedError || /^(AccessDenied|AccessDeniedException)$/.test(name))
      throw new AccessDeniedError(`AWS denied the call (${name}): ${OPERATOR_GRANTS(table)}`);
    return mapCliAwsError(e);
  }
}

/** The token was answered already, or the execution ended (stopped, timed out): nothing holds any more. */
const ENDED = /^(TaskTimedOut|TaskDoesNotExist|InvalidToken)$/;

/**
 * `switchyard resume|abort`: read the paused step of the migration from the stage lock table,
 * decide the answer (lambda/core/traffic/pause.ts), answer its task token (SendTaskSuccess:
 * the next step; SendTaskFailure with MigrationAbortedError: the traffic rollback), clear the record.
 */
export async function answerPauseCommand(o: AnswerPauseOptions, deps: PauseCliDeps): Promise<PauseRecord> {
  const table = StageLockTable.tableNameFor(o.stage);
  const store = new DynamoPauseStore(table, deps.ddb);
  const record = await aws(table, () => store.read(o.stage, o.migrationId));
  const answer = answerPause(record, { ...o, now: deps.now?.() ?? new Date() });
  const held = record!;
  try {
    await aws(table, async () => {
      if (answer.kind === 'resume')
        await deps.sfn.send(
          new SendTaskSuccessCommand({ taskToken: answer.taskToken, output: JSON.stringify(answer.output) }),
        );
      else
        await deps.sfn.send(
          new SendTaskFailureCommand({ taskToken: answer.taskToken, error: answer.error, cause: answer.cause }),
        );
    });
  } catch (e) {
    if (!ENDED.test((e as { name?: string })?.name ?? '')) throw e;
    await aws(table, () => store.clear(o.stage, o.migrationId, held.taskToken));
    throw new NotPausedError(
      `the pause of migration ${o.migrationId} at ${held.weight} % has already ended (answered, stopped or timed out): ` +
        `check its execution with \`switchyard status --stage ${o.stage}\``,
    );
  }
  await aws(table, () => store.clear(o.stage, o.migrationId, held.taskToken));
  deps.print(
    answer.kind === 'resume'
      ? `resumed migration ${o.migrationId} at ${held.weight} % new: Migrate goes on with the next step`
      : `aborted migration ${o.migrationId} at ${held.weight} % new: Migrate rolls the traffic back to 100 % old ` +
          `(follow it with \`switchyard status --stage ${o.stage}\`)`,
  );
  return held;
}
