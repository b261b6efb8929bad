import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { ERRORS } from '../../lambda/core/errors';
import { connect, type DbEndpoint } from '../../lambda/engine';
import { slotStatus } from '../../lambda/engine/sync';
import { NEW_MESSAGES, OLD_MESSAGES, type MessageSchema } from '../../lambda/rehearsal/http-apps';
import { localDeps, withSyncTasks } from '../../lambda/rehearsal/local-deps';
import { definitionFromTemplate, runLocally, type RunOptions } from '../../lambda/rehearsal/workflow-runner';
import { ecsSyncTemplate, freshWorld } from './helpers';

/**
 * `sync.runner: ecs`: the synthesized Migrate starts the long-running sync task (here in-process,
 * the same continuous engine the ECS task runs), CatchUp and the bake only watch it, and every
 * bounded run (final drain, rollback drains, cleanup) stops it first. Writers on both sides; every
 * acknowledged write is counted against what the databases hold.
 */

/** One side's writer: inserts through the side's own sequence, keeps each acknowledged key. */
class Writer {
  readonly acked: string[] = [];
  private on = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DbEndpoint,
    private readonly s: MessageSchema,
  ) {}

  start(): void {
    if (this.on) return;
    this.on = true;
    this.loop = (async () => {
      const c = await connect(this.db);
      try {
        const conv = (await c.query(`SELECT min(${this.s.conversation}) AS v FROM ${this.s.table}`)).rows[0].v;
        const extra = Object.keys(this.s.insertDefaults);
        while (this.on) {
          const r = await c.query(
            `INSERT INTO ${this.s.table} (${this.s.key}, ${this.s.conversation}, ${this.s.content}, ${extra.join(', ')}, ${this.s.updatedAt})
             VALUES (nextval('${this.s.sequence}'), $1, 'ecs sync writer', ${extra.map((k) => this.s.insertDefaults[k]).join(', ')}, now())
             RETURNING ${this.s.key}::text AS id`,
            [conv],
          );
          this.acked.push(r.rows[0].id as string);
          await new Promise((res) => setTimeout(res, 10));
        }
      } finally {
        await c.end();
      }
    })();
  }

  async stop(): Promise<void> {
    this.on = false;
    await this.loop;
  }
}

/** The acknowledged keys a database does not hold. */
async function missing(db: DbEndpoint, s: MessageSchema, keys: readonly string[]): Promise<string[]> {
  const c = await connect(db);
  try {
    const r = await c.query(
      `SELECT k FROM unnest($1::bigint[]) k WHERE NOT EXISTS (SELECT 1 FROM ${s.table} WHERE ${s.key} = k)`,
      [keys],
    );
    return r.rows.map((x) => String(x.k));
  } finally {
    await c.end();
  }
}

async function ecsWorld(rows: number) {
  const world = withSyncTasks(await freshWorld(rows, { router: new MemoryRouter() }), 'wf');
  const old = new Writer(world.source, OLD_MESSAGES);
  const neu = new Writer(world.target, NEW_MESSAGES);
  return { world, old, neu };
}

const runEcs = (
  world: Parameters<typeof localDeps>[0],
  input: unknown,
  opts: RunOptions,
  machine: 'migrate' | 'rollback-traffic' = 'migrate',
) =>
  runLocally(
    ecsSyncTemplate(),
    definitionFromTemplate(ecsSyncTemplate(), machine),
    () => localDeps(world, { stage: 'wf' }),
    input,
    opts,
  );

describe('Migrate with sync.runner ecs (synthesized definition, in-process sync task, real PostgreSQL)', () => {
  test('GIVEN writers on both sides WHEN migrated THEN the task applied them while CatchUp and the bakes only watched, the final drain stopped it, and no acknowledged write is lost', async () => {
    const { world, old, neu } = await ecsWorld(500);
    const seenAtGate: { forward: string[]; reverse: string[] }[] = [];
    let beforeBake = { old: 0, neu: 0 };
    const outputs: Record<string, unknown[]> = {};
    try {
      old.start();
      const ex = await runEcs(
        world,
        { migrationId: 'm-ecs-happy' },
        {
          beforeTask: async (state) => {
            if (state === 'SetWeights') neu.start(); // the new side takes writes from the first step
            if (state === 'Bake') beforeBake = { old: old.acked.length, neu: neu.acked.length };
            // What was acknowledged before the bake is applied by the task alone (no bounded run since CatchUp).
            if (state === 'HealthGate')
              seenAtGate.push({
                forward: await missing(world.target, NEW_MESSAGES, old.acked.slice(0, beforeBake.old)),
                reverse: await missing(world.source, OLD_MESSAGES, neu.acked.slice(0, beforeBake.neu)),
              });
            if (state === 'FinalDrain') await old.stop(); // 100 % new: the old side takes no more writes
          },
          onStep: (st) => {
            outputs[st.state] = [...(outputs[st.state] ?? []), st.output];
          },
        },
      );
      await neu.stop();
      expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
      const states = ex.steps.map((s) => s.state);
      expect(states.filter((s) => s.startsWith('StartSyncTask'))).toEqual(['StartSyncTask', 'StartSyncTaskBothWays']);
      // CatchUp and every bake watched the task: nothing else applied until the final drain.
      for (const o of [...outputs.CatchUp, ...outputs.Bake]) expect(o).toMatchObject({ observed: expect.any(String) });
      const bakes = outputs.Bake as { forward: { done: boolean }; reverse: { done: boolean } }[];
      expect(bakes.map((o) => [o.forward.done, o.reverse.done])).toEqual(Array(4).fill([true, true]));
      expect(seenAtGate).toEqual(Array(4).fill({ forward: [], reverse: [] }));
      expect(old.acked.length).toBeGreaterThan(0);
      expect(neu.acked.length).toBeGreaterThan(0);
      // Lost 0: every write acknowledged on either side is in the new database.
      expect(await missing(world.target, NEW_MESSAGES, [...old.acked, ...neu.acked])).toEqual([]);
      expect(world.syncTasks.running).toBe(0);
      expect((await slotStatus(world.source, 'm-ecs-happy', 'forward')).exists).toBe(false);
    } finally {
      await Promise.all([old.stop(), neu.stop()]);
      await world.syncTasks.stopAll('m-ecs-happy');
    }
  }, 300_000);

  test('GIVEN the sync task dies during the second bake WHEN Migrate notices THEN SyncTaskStoppedError rolls the traffic back and every new-side write is returned to the old side', async () => {
    const { world, old, neu } = await ecsWorld(300);
    let bakes = 0;
    try {
      old.start();
      const ex = await runEcs(
        world,
        { migrationId: 'm-ecs-died' },
        {
          beforeTask: async (state, _phase, input) => {
            if (state === 'SetWeights') neu.start();
            if (state === 'Bake' && ++bakes === 2) {
              const { observe } = input as { observe: { taskArn: string } };
              await world.syncTasks.kill(observe.taskArn);
            }
            // Traffic goes back to old: the new side's app stops taking writes.
            if (state === 'RollbackTrafficOnFailure') await neu.stop();
          },
        },
      );
      await old.stop();
      expect([ex.status, ex.error]).toEqual(['FAILED', ERRORS.SyncTaskStoppedError]);
      expect(ex.cause).toMatch(/is not running \(essential container exited/);
      expect(await world.router.getWeights()).toEqual({ old: 100, new: 0 });
      expect(ex.notifications.map((n) => n.event)).toContain('new-side-writes-returned');
      expect(neu.acked.length).toBeGreaterThan(0);
      // Lost 0: every write acknowledged on either side is in the old database.
      expect(await missing(world.source, OLD_MESSAGES, [...old.acked, ...neu.acked])).toEqual([]);
      expect(world.syncTasks.running).toBe(0);
      expect((await slotStatus(world.target, 'm-ecs-died', 'reverse')).exists).toBe(false);
      expect(world.lock.locks.size).toBe(0);
    } finally {
      await Promise.all([old.stop(), neu.stop()]);
      await world.syncTasks.stopAll('m-ecs-died');
    }
  }, 300_000);

  test('GIVEN a Migrate stopped mid-bake with its task running WHEN the EventBridge rule starts RollbackTraffic THEN the task is stopped, the new side writes returned, nothing left running', async () => {
    const { world, old, neu } = await ecsWorld(200);
    let gates = 0;
    try {
      old.start();
      const migrate = await runEcs(
        world,
        { migrationId: 'm-ecs-aborted' },
        {
          beforeTask: (state) => {
            if (state === 'SetWeights') neu.start();
          },
          abortBefore: (state) => state === 'HealthGate' && ++gates === 2,
        },
      );
      expect(migrate.status).toBe('ABORTED');
      // StopExecution ends the workflow, not the task: it still applies both directions.
      expect(world.syncTasks.running).toBe(1);
      const ex = await runEcs(
        world,
        { endedExecution: { executionArn: migrate.executionArn, status: 'ABORTED' } },
        { beforeTask: async (state) => (state === 'RollbackTraffic' ? neu.stop() : undefined) },
        'rollback-traffic',
      );
      expect([ex.status, ex.error]).toEqual(['SUCCEEDED', undefined]);
      expect(world.syncTasks.running).toBe(0);
      expect(neu.acked.length).toBeGreaterThan(0);
      expect(await missing(world.source, OLD_MESSAGES, [...old.acked, ...neu.acked])).toEqual([]);
      expect((await slotStatus(world.target, 'm-ecs-aborted', 'reverse')).exists).toBe(false);
      expect(world.lock.locks.size).toBe(0);
    } finally {
      await Promise.all([old.stop(), neu.stop()]);
      await world.syncTasks.stopAll('m-ecs-aborted');
    }
  }, 300_000);
});
