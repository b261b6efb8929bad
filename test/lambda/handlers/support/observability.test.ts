import { z } from 'zod';
import type { PhaseDeps } from '../../../../lambda/handlers/support/deps';
import { createLogger } from '../../../../lambda/handlers/support/logger';
import { definePhase } from '../../../../lambda/handlers/support/phase';
import { migrationId } from '../../../../lambda/handlers/support/input';
import { PHASE } from '../../../../lambda/phases';

const context = {
  awsRequestId: 'req-42',
  functionName: 'switchyard-dev-sync',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:switchyard-dev-sync',
  memoryLimitInMB: '512',
  getRemainingTimeInMillis: () => 60_000,
};

function phaseLogging(run: (deps: PhaseDeps) => Promise<unknown>) {
  const lines: string[] = [];
  const log = createLogger({ service: 'switchyard', stage: 'dev' }, (l) => lines.push(l));
  const handler = definePhase(PHASE.sync, z.object({ migrationId }), (_i, deps) => run(deps)).make(
    () => ({ stage: 'dev', log, now: () => Date.now() }) as unknown as PhaseDeps,
  );
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { handler, parsed };
}

const emf = (lines: Record<string, unknown>[]) => lines.filter((l) => '_aws' in l);

describe('phase logs and metrics (Powertools)', () => {
  test('GIVEN a Lambda invocation WHEN the phase logs THEN every line carries service, stage, phase, migration id and request id', async () => {
    const { handler, parsed } = phaseLogging(async (deps) => deps.log.info('working', { rows: 3 }));
    await handler({ migrationId: 'm-1' }, context);
    const logs = parsed().filter((l) => !('_aws' in l));
    expect(logs.map((l) => l.message)).toEqual(['working', 'Sync done']);
    for (const l of logs)
      expect(l).toMatchObject({
        level: 'INFO',
        service: 'switchyard',
        stage: 'dev',
        phase: 'Sync',
        migrationId: 'm-1',
        function_request_id: 'req-42',
      });
  });

  test('GIVEN several metrics WHEN the invocation ends THEN they are flushed once, as one EMF line with the Stage dimension', async () => {
    const { handler, parsed } = phaseLogging(async (deps) => {
      deps.log.metric('SyncLagSeconds', 1.5, 'Seconds');
      deps.log.metric('SyncDrainChanges', 120, 'Count');
    });
    await handler({ migrationId: 'm-1' });
    const [line, ...more] = emf(parsed());
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'Switchyard',
            Dimensions: [['Stage']],
            Metrics: [
              { Name: 'SyncLagSeconds', Unit: 'Seconds' },
              { Name: 'SyncDrainChanges', Unit: 'Count' },
            ],
          },
        ],
      },
      Stage: 'dev',
      migrationId: 'm-1',
      SyncLagSeconds: 1.5,
      SyncDrainChanges: 120,
    });
  });

  test('GIVEN a failing phase WHEN it throws THEN the metrics it had are still flushed, and no invocation without metrics writes one', async () => {
    const failing = phaseLogging(async (deps) => {
      deps.log.metric('SyncConflicts', 2, 'Count');
      throw new Error('boom');
    });
    await expect(failing.handler({ migrationId: 'm-1' })).rejects.toThrow('boom');
    expect(emf(failing.parsed())).toHaveLength(1);
    const quiet = phaseLogging(async () => undefined);
    await quiet.handler({ migrationId: 'm-1' });
    expect(emf(quiet.parsed())).toEqual([]);
  });

  test('GIVEN fields named like secrets WHEN logged THEN their values are redacted, at any depth', async () => {
    const { handler, parsed } = phaseLogging(async (deps) =>
      deps.log.info('config', { password: 'hunter2', nested: { secretString: 'hunter2', token: 'hunter2' }, n: 1 }),
    );
    await handler({ migrationId: 'm-1' });
    const text = parsed()
      .map((l) => JSON.stringify(l))
      .join('\n');
    expect(text).not.toContain('hunter2');
    expect(parsed()[0]).toMatchObject({ password: '[redacted]', nested: { secretString: '[redacted]' }, n: 1 });
  });
});
