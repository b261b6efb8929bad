import { MemoryRouter, StaticAlarms } from '../../lambda/adapters/local/local-traffic';
import { freshWorld, run, sourceFingerprint, targetCount } from './helpers';

describe('Migrate state machine (synthesized definition, local interpreter, real PostgreSQL)', () => {
  test('GIVEN a healthy new side WHEN migrated THEN traffic ends 100 % new and the data matches', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(2_000, { router });
    const before = await sourceFingerprint(world.source);
    const ex = await run('migrate', world, { migrationId: 'm-happy' });
    expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(ex.status).toBe('SUCCEEDED');
    expect(router.history).toEqual([{ old: 95, new: 5 }, { old: 75, new: 25 }, { old: 50, new: 50 }, { old: 0, new: 100 }]);
    expect(await targetCount(world.target, 'messages')).toBe(2_000);
    expect(await sourceFingerprint(world.source)).toBe(before);
    expect(ex.steps.filter((s) => s.phase === 'shiftTraffic')).toHaveLength(4);
    expect(ex.notifications.map((n) => n.event)).toEqual(['started', 'traffic-step', 'traffic-step', 'traffic-step', 'traffic-step', 'completed']);
    expect((await world.parameters.get('/chat/new/feature/streaming'))?.value).toBe('on');
    expect((await world.parameters.get('/chat/new/db/host'))?.value).toBe(world.target.host);
  });
});
