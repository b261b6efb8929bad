import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { SYNC_TASK } from '../../core/limits';
import {
  type SyncTaskRunner,
  type SyncTaskSpec,
  type SyncTaskState,
  SyncTaskStoppedError,
  SyncTaskStopTimeoutError,
  syncTaskStartedBy,
} from '../../core/sync/task';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** Where the sync task runs: the stage's cluster, task definition and the new environment's network. */
export interface EcsSyncTaskConfig {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly containerName: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
}

/** The task's per-run settings (container environment overrides): identifiers and flags, never a secret. */
export const SYNC_TASK_ENV = {
  migrationId: 'SYNC_MIGRATION_ID',
  executionId: 'SYNC_EXECUTION_ID',
  fenceToken: 'SYNC_FENCE_TOKEN',
  directions: 'SYNC_DIRECTIONS',
  conflicts: 'SYNC_CONFLICTS',
} as const;

/**
 * The long-running sync as an ECS (Fargate) task: RunTask with `startedBy` naming the migration
 * (so any workflow finds and stops it by migration id), DescribeTasks for its state, StopTask
 * (SIGTERM: the engine stops after the transaction it applies) and a wait until STOPPED.
 */
export class EcsSyncTasks implements SyncTaskRunner {
  public readonly description: string;

  constructor(
    private readonly config: EcsSyncTaskConfig,
    private readonly ecs: ECSClient = new ECSClient({ ...AWS_CLIENT_CONFIG }),
    private readonly wait = { pollMs: 5_000, maxMs: SYNC_TASK.stopWaitSeconds * 1000 },
  ) {
    this.description = `ECS task ${config.taskDefinitionArn} on ${config.clusterArn}`;
  }

  async start(spec: SyncTaskSpec): Promise<{ taskArn: string }> {
    const environment = [
      { name: SYNC_TASK_ENV.migrationId, value: spec.migrationId },
      { name: SYNC_TASK_ENV.directions, value: spec.directions.join(',') },
      { name: SYNC_TASK_ENV.conflicts, value: String(spec.conflicts) },
      ...(spec.executionId ? [{ name: SYNC_TASK_ENV.executionId, value: spec.executionId }] : []),
      ...(spec.fenceToken !== undefined ? [{ name: SYNC_TASK_ENV.fenceToken, value: String(spec.fenceToken) }] : []),
    ];
    const out = await call('ecs:RunTask', this.config.taskDefinitionArn, () =>
      this.ecs.send(
        new RunTaskCommand({
          cluster: this.config.clusterArn,
          taskDefinition: this.config.taskDefinitionArn,
          launchType: 'FARGATE',
          count: 1,
          startedBy: syncTaskStartedBy(spec.migrationId),
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: [...this.config.subnets],
              securityGroups: [...this.config.securityGroups],
              assignPublicIp: 'DISABLED',
            },
          },
          overrides: { containerOverrides: [{ name: this.config.containerName, environment }] },
        }),
      ),
    );
    const taskArn = out.tasks?.[0]?.taskArn;
    if (!taskArn) {
      const why = (out.failures ?? []).map((f) => `${f.reason ?? 'unknown'}${f.detail ? ` (${f.detail})` : ''}`);
      throw new SyncTaskStoppedError(
        `the sync task of migration ${spec.migrationId} did not start on ${this.config.clusterArn}: ` +
          `${why.join('; ') || 'no task returned'}. Check the cluster's capacity and the subnets, then run again`,
      );
    }
    return { taskArn };
  }

  async status(taskArn: string): Promise<SyncTaskState> {
    const [t] = await this.describe([taskArn]);
    if (!t) return { taskArn, running: false, stoppedReason: 'the task is unknown to the cluster' };
    return t.lastStatus === 'STOPPED'
      ? { taskArn, running: false, stoppedReason: stoppedReason(t) }
      : { taskArn, running: true };
  }

  async stopAll(migrationId: string): Promise<string[]> {
    const startedBy = syncTaskStartedBy(migrationId);
    const running = await this.list(startedBy, 'RUNNING');
    for (const arn of running)
      await call('ecs:StopTask', arn, () =>
        this.ecs.send(
          new StopTaskCommand({ cluster: this.config.clusterArn, task: arn, reason: 'Switchyard: the sync moves on' }),
        ),
      );
    // Stopped earlier (by us or by ECS) but maybe still shutting down: wait for those as well.
    const stopping = await this.list(startedBy, 'STOPPED');
    const waitFor = [...new Set([...running, ...stopping])];
    const deadline = Date.now() + this.wait.maxMs;
    for (;;) {
      const left = waitFor.length ? (await this.describe(waitFor)).filter((t) => t.lastStatus !== 'STOPPED') : [];
      if (left.length === 0) return running;
      if (Date.now() >= deadline)
        throw new SyncTaskStopTimeoutError(
          `the sync task(s) ${left.map((t) => t.taskArn).join(', ')} of migration ${migrationId} did not stop within ` +
            `${Math.round(this.wait.maxMs / 1000)} s: they may still hold the replication slots. Stop them in the ECS ` +
            'console (or wait), then run the step again',
        );
      await new Promise((r) => setTimeout(r, this.wait.pollMs));
    }
  }

  private async list(startedBy: string, desiredStatus: 'RUNNING' | 'STOPPED'): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await call('ecs:ListTasks', this.config.clusterArn, () =>
        this.ecs.send(new ListTasksCommand({ cluster: this.config.clusterArn, startedBy, desiredStatus, nextToken })),
      );
      arns.push(...(out.taskArns ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return arns;
  }

  private async describe(arns: readonly string[]): Promise<Task[]> {
    const tasks: Task[] = [];
    for (let i = 0; i < arns.length; i += 100) {
      const out = await call('ecs:DescribeTasks', this.config.clusterArn, () =>
        this.ecs.send(new DescribeTasksCommand({ cluster: this.config.clusterArn, tasks: arns.slice(i, i + 100) })),
      );
      tasks.push(...(out.tasks ?? []));
    }
    return tasks;
  }
}

/** ECS's stop reason and the container's exit code (no values: ECS reports codes and reasons). */
function stoppedReason(t: Task): string {
  const c = t.containers?.[0];
  const exit = c?.exitCode !== undefined ? `exit code ${c.exitCode}` : c?.reason;
  return [t.stopCode, t.stoppedReason, exit].filter(Boolean).join(': ') || 'stopped';
}
