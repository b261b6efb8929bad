import { createLogger } from '../../../lambda/handlers/support/logger';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { InvalidInputError } from '../../../lambda/handlers/support/input';
import { validateInput } from '../../../lambda/handlers/validate-input';
import { copyData } from '../../../lambda/handlers/copy-data';
import { validateData } from '../../../lambda/handlers/validate-data';
import { COPY_CONCURRENCY } from '../../../lambda/core/limits';
import {
  IDENTIFIER_LIMITS,
  restoredInstanceIdentifier,
  snapshotIdentifier,
} from '../../../lambda/core/backup/snapshot';
import { parseStageConfig, StageConfigError } from '../../../lib/config/stage-config';
import { minimalConfig } from '../../lib/helpers';

const deps = (over: Partial<PhaseDeps> = {}): PhaseDeps =>
  ({
    stage: 'prod',
    log: createLogger({}, () => undefined),
    specName: 'chat-history',
    oldDbId: 'switchyard-prod-old',
    defaults: {
      schedule: [5, 25, 50, 100],
      bakeSeconds: 300,
      maxCatchUpLagSeconds: 5,
      maxCatchUpMinutes: 60,
      copyConcurrency: 4,
    },
    now: () => 0,
    ...over,
  }) as PhaseDeps;
const run = (input: unknown, over: Partial<PhaseDeps> = {}) => validateInput.make(() => deps(over))(input);
/** A deps factory that proves the input was accepted: parsing happens before deps are built. */
const reached = () => {
  throw new Error('input accepted');
};

describe('ValidateInput: identifiers derived from the migration id', () => {
  test('GIVEN a short id WHEN validated THEN the defaults are filled in', async () => {
    await expect(run({ migrationId: 'm-1' })).resolves.toMatchObject({
      migrationId: 'm-1',
      bakeSeconds: 300,
      copyConcurrency: 4,
      schedule: [5, 25, 50, 100],
    });
  });

  test('fails when the migration id is longer than 63 characters, naming the limit', async () => {
    const err = await run({ migrationId: 'm'.repeat(64) }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain('migrationId must be at most 63 characters');
  });

  test('fails when the migration id has double or trailing dashes (two ids would share one snapshot)', async () => {
    for (const id of ['m--1', 'm-1-', '-m']) await expect(run({ migrationId: id })).rejects.toThrow(/single dashes/);
    expect(snapshotIdentifier('prod', 'm-1')).toBe('switchyard-prod-m-1');
  });

  test('fails when the old database id leaves no room for the restored instance id, naming the RDS limit', async () => {
    const err = await run({ migrationId: 'm-1' }, { oldDbId: 'a'.repeat(50) }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain("would exceed RDS's 63");
  });

  test('the longest accepted id yields identifiers within every AWS limit, unique per id', () => {
    const a = `m-${'a'.repeat(60)}1`;
    const b = `m-${'a'.repeat(60)}2`;
    expect(a).toHaveLength(63);
    expect(a.length).toBeLessThanOrEqual(IDENTIFIER_LIMITS.executionName);
    const ra = restoredInstanceIdentifier('switchyard-prod-old', a);
    const rb = restoredInstanceIdentifier('switchyard-prod-old', b);
    expect(ra.length).toBeLessThanOrEqual(IDENTIFIER_LIMITS.dbInstance);
    expect(ra).toMatch(/^switchyard-prod-old-restored-m-a+-[0-9a-f]{8}$/);
    expect(ra).not.toBe(rb);
    expect(restoredInstanceIdentifier('switchyard-prod-old', a)).toBe(ra);
    expect(restoredInstanceIdentifier('switchyard-prod-old', 'm-1')).toBe('switchyard-prod-old-restored-m-1');
    expect(snapshotIdentifier('a-very-long-stage-nm', a).length).toBeLessThanOrEqual(IDENTIFIER_LIMITS.snapshot);
  });
});

describe('one limit per concept: copy concurrency', () => {
  test('GIVEN the highest concurrency the stage config accepts WHEN the copy, validate and input handlers parse it THEN they accept it', async () => {
    const cfg = parseStageConfig(minimalConfig({ migration: { copyConcurrency: COPY_CONCURRENCY.max } }));
    const c = cfg.migration.copyConcurrency;
    await expect(copyData.make(reached)({ migrationId: 'm-1', table: 'messages', concurrency: c })).rejects.toThrow(
      'input accepted',
    );
    await expect(validateData.make(reached)({ migrationId: 'm-1', concurrency: c })).rejects.toThrow('input accepted');
    await expect(run({ migrationId: 'm-1', copyConcurrency: c })).resolves.toMatchObject({ copyConcurrency: c });
  });

  test('fails at synth when copyConcurrency is above what the handlers accept', async () => {
    const above = COPY_CONCURRENCY.max + 1;
    expect(() => parseStageConfig(minimalConfig({ migration: { copyConcurrency: above } }))).toThrow(StageConfigError);
    expect(() => parseStageConfig(minimalConfig({ migration: { copyConcurrency: above } }))).toThrow(
      `migration.copyConcurrency must be at most ${COPY_CONCURRENCY.max} (the limit the copy handler enforces), got: ${above}`,
    );
    await expect(copyData.make(reached)({ migrationId: 'm-1', table: 'messages', concurrency: above })).rejects.toThrow(
      InvalidInputError,
    );
  });

  test.each([
    [
      0,
      'bakeSeconds must be a whole number between 60 and 86400 seconds (one CloudWatch period, so the health gate sees the step), got: 0',
    ],
    [
      144 * 3600,
      'bakeSeconds must be a whole number between 60 and 86400 seconds (one CloudWatch period, so the health gate sees the step), got: 518400',
    ],
    [1.5, 'bakeSeconds must be a whole number between 0 and'],
  ])('fails at input when the bake is %s s on a stage that bakes for minutes', async (bake, message) => {
    await expect(run({ migrationId: 'm-1', bakeSeconds: bake })).rejects.toThrow(message);
  });

  test('GIVEN a rehearsal stage that bakes for 0 s WHEN the input asks for 0 s THEN it is accepted', async () => {
    const rehearsal = deps().defaults;
    await expect(
      run({ migrationId: 'm-1', bakeSeconds: 0 }, { defaults: { ...rehearsal, bakeSeconds: 0 } }),
    ).resolves.toMatchObject({ bakeSeconds: 0 });
  });

  test.each([
    [{ maxCatchUpMinutes: 0 }, 'maxCatchUpMinutes must be a whole number between 1 and 1440 minutes, got: 0'],
    [{ maxCatchUpLagSeconds: 7200 }, 'maxCatchUpLagSeconds must be a number between 0 and 3600 seconds, got: 7200'],
    [{ copyConcurrency: 'four' }, 'copyConcurrency must be a whole number between 1 and 16, got: "four"'],
  ])('fails at input with "must be …, got: x": %j', async (extra, message) => {
    await expect(run({ migrationId: 'm-1', ...extra })).rejects.toThrow(message);
  });

  test('fails at synth when the bake is 0 s', () => {
    expect(() => parseStageConfig(minimalConfig({ migration: { bakeSeconds: 0 } }))).toThrow(
      'migration.bakeSeconds must be at least 60 seconds (one CloudWatch period, so the minimum-request alarm sees the step), got: 0',
    );
  });
});
