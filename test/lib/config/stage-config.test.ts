import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadStageConfig, selectedStages, STAGE_NAMES } from '../../../lib/config/stages';
import { parseStageConfig, StageConfigError } from '../../../lib/config/stage-config';
import { IMPORTED_OLD, minimalConfig, parse, ROUTE53 } from '../helpers';

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StageConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a StageConfigError');
}

describe('stage configuration', () => {
  test('GIVEN a minimal config WHEN parsed THEN defaults are filled in', () => {
    const cfg = parse();
    expect(cfg.migration.weightSchedule).toEqual([5, 25, 50, 100]);
    expect(cfg.protectData).toBe(true);
    expect(cfg.routing.alb.stickinessSeconds).toBe(0);
    expect(cfg.newEnvironment.database.engineVersion).toBe('16');
    expect(cfg.account).toBeUndefined();
  });

  test('every built-in stage is valid and carries no account id', () => {
    for (const stage of STAGE_NAMES) {
      const cfg = loadStageConfig(stage);
      expect(cfg.stageName).toBe(stage);
      expect(cfg.account).toBeUndefined();
    }
  });

  test('fails when the weight schedule does not end at 100', () => {
    const msg = problemsOf(() => parse({ migration: { weightSchedule: [5, 25, 50] } }));
    expect(msg).toContain('migration.weightSchedule must end at 100, got: 5, 25, 50');
  });

  test('fails when the weight schedule is not increasing', () => {
    expect(problemsOf(() => parse({ migration: { weightSchedule: [50, 25, 100] } }))).toContain(
      'must be strictly increasing',
    );
  });

  test('fails when a weight step is outside 1..100', () => {
    expect(problemsOf(() => parse({ migration: { weightSchedule: [0, 100] } }))).toContain(
      'migration.weightSchedule.0 must be between 1 and 100',
    );
  });

  test('fails when the old environment is neither provisioned nor imported', () => {
    const msg = problemsOf(() => parse({ oldEnvironment: { mode: 'borrowed' } as never }));
    expect(msg).toContain('oldEnvironment.mode must be provisioned ({ mode: "provisioned", ... }) or fully imported');
  });

  test('fails when an imported old environment misses identifiers, naming each one', () => {
    const { dbSecretArn: _s, dbSecurityGroupId: _g, ...partial } = IMPORTED_OLD;
    const msg = problemsOf(() => parse({ oldEnvironment: partial as never, routing: { route53: ROUTE53 } }));
    expect(msg).toContain('oldEnvironment.dbSecretArn');
    expect(msg).toContain('oldEnvironment.dbSecurityGroupId');
  });

  test('fails when an imported target group ARN is not an ELB ARN', () => {
    const msg = problemsOf(() =>
      parse({
        oldEnvironment: { ...IMPORTED_OLD, targetGroupArn: IMPORTED_OLD.dbSecretArn },
        routing: { route53: ROUTE53 },
      }),
    );
    expect(msg).toContain('oldEnvironment.targetGroupArn must be a elasticloadbalancing ARN');
  });

  test('fails when an imported old environment has no Route53 routing', () => {
    expect(problemsOf(() => parse({ oldEnvironment: IMPORTED_OLD }))).toContain(
      'routing.route53 must be configured when oldEnvironment is imported',
    );
  });

  test('fails when both sides share a configuration namespace', () => {
    const base = minimalConfig();
    const msg = problemsOf(() =>
      parseStageConfig({
        ...base,
        newEnvironment: { ...base.newEnvironment, parameterPath: '/app/old', secretPrefix: 'app/old' },
      }),
    );
    expect(msg).toContain('newEnvironment.parameterPath must differ from oldEnvironment.parameterPath, got: /app/old');
    expect(msg).toContain('newEnvironment.secretPrefix must differ');
  });

  test('fails when the account id is not 12 digits, showing the value', () => {
    expect(problemsOf(() => parse({ account: '1234' }))).toContain(
      'account must be a 12-digit AWS account id, got: "1234"',
    );
  });

  test('fails naming the stage', () => {
    expect(problemsOf(() => parse({ stageName: 'qa', region: 'moon-1' }))).toMatch(
      /stage "qa"[\s\S]*region must be an AWS region/,
    );
  });

  test('context sets account and region of one stage only', () => {
    const ctx: Record<string, string> = { 'prod:account': '123456789012', 'prod:region': 'eu-west-1' };
    const prod = loadStageConfig('prod', (k) => ctx[k]);
    expect(prod.account).toBe('123456789012');
    expect(prod.region).toBe('eu-west-1');
    expect(loadStageConfig('dev', (k) => ctx[k]).account).toBeUndefined();
  });

  test('an override file switches the old side to imported without leaking provisioned fields', () => {
    const cfg = loadStageConfig('prod', (k) =>
      k === 'switchyard:configFile' ? 'docs/examples/imported-old.json' : undefined,
    );
    expect(cfg.oldEnvironment.mode).toBe('imported');
    expect(cfg.oldEnvironment).not.toHaveProperty('compute');
    expect(cfg.routing.route53?.recordName).toBe('chat');
  });

  test('fails when an override file makes a stage invalid', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sy-')), 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ dev: { migration: { bakeSeconds: -1 } } }));
    expect(
      problemsOf(() => loadStageConfig('dev', (k) => (k === 'switchyard:configFile' ? file : undefined))),
    ).toContain('migration.bakeSeconds');
  });

  test('stage selection from context', () => {
    expect(selectedStages(() => undefined)).toEqual(['dev', 'staging', 'prod']);
    expect(selectedStages(() => 'dev, prod')).toEqual(['dev', 'prod']);
  });

  test('GIVEN no copy config WHEN parsed THEN the copy is inline, with the distributed settings at their defaults', () => {
    expect(parse().migration.copy).toEqual({
      mode: 'inline',
      maxConcurrency: 8,
      chunksPerItem: 16,
      tablesPerGroup: 500,
    });
    expect(parse({ migration: { copy: { mode: 'distributed' } } }).migration.copy).toEqual({
      mode: 'distributed',
      maxConcurrency: 8,
      chunksPerItem: 16,
      tablesPerGroup: 500,
    });
  });

  test('fails when copy.mode is neither inline nor distributed, showing the value', () => {
    expect(problemsOf(() => parse({ migration: { copy: { mode: 'sideways' as never } } }))).toContain(
      'migration.copy.mode must be "inline" or "distributed", got: "sideways"',
    );
  });

  test('fails when copy.maxConcurrency or copy.chunksPerItem is out of range, naming each field and value', () => {
    const msg = problemsOf(() =>
      parse({ migration: { copy: { mode: 'distributed', maxConcurrency: 0, chunksPerItem: 10_001 } } }),
    );
    expect(msg).toContain('migration.copy.maxConcurrency must be at least 1, got: 0');
    expect(msg).toContain('migration.copy.chunksPerItem must be at most 10000, got: 10001');
    expect(problemsOf(() => parse({ migration: { copy: { maxConcurrency: 1_001 } } }))).toContain(
      "migration.copy.maxConcurrency must be at most 1000 (the account's default Lambda concurrency), got: 1001",
    );
    expect(problemsOf(() => parse({ migration: { copy: { chunksPerItem: 1.5 } } }))).toContain(
      'migration.copy.chunksPerItem must be a whole number, got: 1.5',
    );
    expect(problemsOf(() => parse({ migration: { copy: { tablesPerGroup: 1_001 } } }))).toContain(
      'migration.copy.tablesPerGroup must be at most 1000 (table names per Lambda payload), got: 1001',
    );
  });

  test('fails when context selects an unknown stage', () => {
    expect(() => selectedStages(() => 'dev,qa')).toThrow(
      'context "stages" must list stages from dev, staging, prod, got: qa',
    );
  });
});
