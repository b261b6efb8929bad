import { describeError } from '../../core/errors';
import { type SyncTaskRunner, type SyncTaskSpec, type SyncTaskState, syncTaskStartedBy } from '../../core/sync/task';

interface Running {
  readonly taskArn: string;
  readonly startedBy: string;
  readonly stop: AbortController;
  readonly done: Promise<void>;
  ended: boolean;
  reason?: string;
}

/**
 * The sync task of `sync.runner: ecs`, run in this process (rehearsals, workflow tests): the same
 * continuous sync the ECS task runs (`run`), stopped with its AbortSignal as ECS stops the task
 * with SIGTERM. `kill` ends one as if its container died.
 */
export class InProcessSyncTasks implements SyncTaskRunner {
  public readonly description = 'in-process sync task (local)';
  private readonly tasks = new Map<string, Running>();
  private started = 0;

  constructor(private readonly run: (spec: SyncTaskSpec, signal: AbortSignal) => Promise<unknown>) {}

  async start(spec: SyncTaskSpec): Promise<{ taskArn: string }> {
    const taskArn = `local:sync-task/${spec.migrationId}/${++this.started}`;
    const stop = new AbortController();
    const state: { ended: boolean; reason?: string } = { ended: false };
    const done = this.run(spec, stop.signal).then(
      () => this.end(state, 'exit code 0'),
      (e: unknown) => this.end(state, `exit code 1: ${describeError(e)}`),
    );
    this.tasks.set(
      taskArn,
      Object.assign(state, { taskArn, startedBy: syncTaskStartedBy(spec.migrationId), stop, done }),
    );
    return { taskArn };
  }

  /** The run ended: keep the reason a stop or kill gave it, else its own. */
  private end(t: { ended: boolean; reason?: string }, reason: string): void {
    t.ended = true;
    t.reason ??= reason;
  }

  async status(taskArn: string): Promise<SyncTaskState> {
    const t = this.tasks.get(taskArn);
    if (!t) return { taskArn, running: false, stoppedReason: 'no such task' };
    return { taskArn, running: !t.ended, ...(t.ended ? { stoppedReason: t.reason } : {}) };
  }

  async stopAll(migrationId: string): Promise<string[]> {
    const by = syncTaskStartedBy(migrationId);
    const stopping = [...this.tasks.values()].filter((t) => t.startedBy === by && !t.ended);
    for (const t of stopping) {
      t.reason = 'stopped by the workflow (StopTask)';
      t.stop.abort();
    }
    await Promise.all(stopping.map((t) => t.done));
    return stopping.map((t) => t.taskArn);
  }

  /** How many tasks run now (tests: none may be left when an execution ends). */
  get running(): number {
    return [...this.tasks.values()].filter((t) => !t.ended).length;
  }

  /** Tests: the task's container dies (its run is stopped, the reason says so), as an out-of-memory kill would. */
  async kill(taskArn: string, reason = 'essential container exited (killed by the test)'): Promise<void> {
    const t = this.tasks.get(taskArn);
    if (!t || t.ended) return;
    t.reason = reason;
    t.stop.abort();
    await t.done;
  }
}
