import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { databaseEndpointFromSecret } from '../adapters/aws/db-credentials';
import { SYNC_TASK_ENV } from '../adapters/aws/ecs-sync-task';
import { AWS_CLIENT_CONFIG } from '../adapters/aws/retry';
import { describeError } from '../core/errors';
import { DEFAULT_SPEC_NAME } from '../core/limits';
import type { SyncTaskSpec } from '../core/sync/task';
import { parseEnv } from './support/input';
import { createLogger, type LogSink } from './support/logger';
import { runSyncTask } from './sync-actions/continuous';

/**
 * The sync task's settings: the task definition's (stage, spec, the two database secrets' ARNs,
 * TLS) and the per-run overrides RunTask sets (migration, execution, fence token, directions).
 * Identifiers only: the credentials are read from Secrets Manager at start, as the Lambdas do.
 */
export const syncTaskEnvSchema = z.object({
  SWITCHYARD_STAGE: z.string().min(1),
  SPEC_NAME: z.string().min(1).default(DEFAULT_SPEC_NAME),
  SOURCE_DB_SECRET_ARN: z.string().min(1),
  TARGET_DB_SECRET_ARN: z.string().min(1),
  DB_TLS: z.enum(['verify-full', 'require']).default('verify-full'),
  [SYNC_TASK_ENV.migrationId]: z.string().min(1),
  [SYNC_TASK_ENV.executionId]: z.string().min(1).optional(),
  [SYNC_TASK_ENV.fenceToken]: z.coerce.number().int().optional(),
  [SYNC_TASK_ENV.directions]: z
    .string()
    .regex(/^(forward|reverse)(,(forward|reverse))?$/, 'must be forward, reverse or forward,reverse'),
  [SYNC_TASK_ENV.conflicts]: z.enum(['true', 'false']),
});

/** The task's run, from its environment. */
export function syncTaskSpec(e: z.output<typeof syncTaskEnvSchema>): SyncTaskSpec {
  return {
    migrationId: e.SYNC_MIGRATION_ID,
    executionId: e.SYNC_EXECUTION_ID,
    fenceToken: e.SYNC_FENCE_TOKEN,
    directions: e.SYNC_DIRECTIONS.split(',') as SyncTaskSpec['directions'],
    conflicts: e.SYNC_CONFLICTS === 'true',
  };
}

/**
 * Run the continuous sync until SIGTERM (ECS StopTask) or SIGINT: each direction stops after the
 * transaction it applies, committed. Resolves with the exit code: 0 after a stop, 1 on a failure.
 */
export async function syncTaskMain(
  env: NodeJS.ProcessEnv = process.env,
  proc: NodeJS.Process = process,
  sink?: LogSink,
) {
  const e = parseEnv(syncTaskEnvSchema, env);
  const spec = syncTaskSpec(e);
  const log = createLogger(
    { service: 'switchyard-sync-task', stage: e.SWITCHYARD_STAGE, migrationId: spec.migrationId },
    sink,
  );
  const sm = new SecretsManagerClient({ ...AWS_CLIENT_CONFIG });
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    log.info('sync task stopping', { signal });
    stop.abort();
  };
  proc.once('SIGTERM', () => onSignal('SIGTERM'));
  proc.once('SIGINT', () => onSignal('SIGINT'));
  log.info('sync task started', { directions: spec.directions, conflicts: spec.conflicts });
  try {
    await runSyncTask(
      {
        stage: e.SWITCHYARD_STAGE,
        specName: e.SPEC_NAME,
        log,
        sourceDb: () => databaseEndpointFromSecret(e.SOURCE_DB_SECRET_ARN, sm, { ssl: e.DB_TLS }),
        targetDb: () => databaseEndpointFromSecret(e.TARGET_DB_SECRET_ARN, sm, { ssl: e.DB_TLS }),
      },
      spec,
      stop.signal,
    );
    log.info('sync task stopped cleanly');
    return 0;
  } catch (err) {
    log.error('sync task failed', { error: describeError(err) });
    return 1;
  }
}
