/**
 * Entry of the long-running sync task's container (stage config `sync.runner: ecs`,
 * lib/constructs/sync-task.ts bundles this file): the continuous sync until ECS stops the task.
 */
import { syncTaskMain } from '../lambda/handlers/sync-task-main';

syncTaskMain().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`sync task could not start: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  },
);
