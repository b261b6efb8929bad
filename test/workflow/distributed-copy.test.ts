import { Template } from 'aws-cdk-lib/assertions';
import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { parseSpec } from '../../lambda/engine';
import { registerSpec } from '../../lambda/engine/specs';
import { chatHistorySpec } from '../../lambda/engine/specs/chat-history';
import { localDeps, type LocalWorld } from '../../lambda/rehearsal/local-deps';
import {
  type CfnTemplate,
  definitionFromTemplate,
  runLocally,
  type RunOptions,
} from '../../lambda/rehearsal/workflow-runner';
import { parse, stageFrom } from '../lib/helpers';
import { freshWorld, sourceFingerprint, targetCount } from './helpers';

/**
 * The local interpreter runs a Distributed Map's item processor like an inline Map's: no child
 * executions, MaxConcurrency and the failure threshold not applied, so these tests cover the data
 * flow (PlanCopy's items → ItemSelector → chunkNos → every chunk copied → CopyPlanDone) and the
 * failure path, not the distributed runtime itself (the synth test validates that definition).
 */
const SPEC = parseSpec({
  ...chatHistorySpec,
  name: 'chat-history-wf-chunks',
  tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 50 })),
});
registerSpec(SPEC);

let cached: CfnTemplate | undefined;
const template = () =>
  (cached ??= Template.fromStack(
    stageFrom(parse({ stageName: 'wf', migration: { copy: { mode: 'distributed', chunksPerItem: 4 } } })).migration,
  ).toJSON() as CfnTemplate);
const run = (world: LocalWorld, input: unknown, opts: RunOptions = {}) =>
  runLocally(
    template(),
    definitionFromTemplate(template(), 'migrate'),
    () => ({ ...localDeps(world, { stage: 'wf' }), specName: SPEC.name }),
    input,
    opts,
  );

describe('Migrate with copy.mode distributed (synthesized definition, local interpreter, real PostgreSQL)', () => {
  test('GIVEN 2,000 messages in 50-row chunks WHEN migrated THEN PlanCopy hands out chunk groups of 4, each copied by CopyChunkGroup, and the data matches', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(2_000, { router });
    const before = await sourceFingerprint(world.source);
    const ex = await run(world, { migrationId: 'm-distributed', bakeSeconds: 0 });
    expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    // 100 conversations: 2 chunks, 1 group; 2,000 messages: 40 chunks, 10 groups
    expect((ex.output as { copyPlan: unknown }).copyPlan).toEqual({
      tables: [
        { table: 'conversations', chunks: 2, chunksCopied: 0 },
        { table: 'messages', chunks: 40, chunksCopied: 0 },
      ],
      chunks: 42,
      chunksPerItem: 4,
      items: 11,
    });
    expect(ex.steps.filter((s) => s.state === 'PlanCopy')).toHaveLength(1);
    expect(ex.steps.filter((s) => s.state === 'CopyChunkGroup' && s.ok)).toHaveLength(11);
    expect(ex.steps.some((s) => s.state === 'CopyTable')).toBe(false);
    expect(await targetCount(world.target, 'messages')).toBe(2_000);
    expect(await targetCount(world.target, 'conversations')).toBe(100);
    expect(await sourceFingerprint(world.source)).toBe(before);
    expect(router.history.at(-1)).toEqual({ old: 0, new: 100 });
  });

  test.each(['PlanCopy', 'CopyChunkGroup'])(
    'fails when %s fails: the before-traffic failure path notifies, drops the captures and releases the lock; traffic never moved',
    async (state) => {
      const router = new MemoryRouter();
      const world = await freshWorld(300, { router });
      const ex = await run(
        world,
        { migrationId: 'm-distributed-fault', bakeSeconds: 0 },
        {
          beforeTask: (s) => {
            if (s === state) throw Object.assign(new Error(`injected into ${s}`), { name: 'InjectedFault' });
          },
        },
      );
      expect([ex.status, ex.error, ex.cause]).toEqual(['FAILED', 'InjectedFault', `injected into ${state}`]);
      expect(ex.notifications.map((n) => n.event)).toEqual(['started', 'failed']);
      expect(
        ex.steps
          .filter((s) => ['DropCapturesOnFailure', 'ReleaseLockOnFailure'].includes(s.state))
          .map((s) => [s.state, s.ok]),
      ).toEqual([
        ['DropCapturesOnFailure', true],
        ['ReleaseLockOnFailure', true],
      ]);
      expect(router.history).toEqual([]);
    },
  );
});
