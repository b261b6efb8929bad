import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseStageConfig } from '../../../lib/config/stage-config';
import { stagedImage } from '../../../lib/constructs/sync-task';
import { IMPORTED_OLD, minimalConfig, parse, ROUTE53, stageFrom } from '../helpers';

const stage = stageFrom(parse({ sync: { runner: 'ecs', cpu: 2048, memoryMiB: 4096 } }));
const t = Template.fromStack(stage.migration);
const syncTaskDefs = () =>
  Object.entries(t.findResources('AWS::ECS::TaskDefinition')).filter(([id]) => id.startsWith('SyncTask'));
const fnOf = (phase: string) =>
  Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) =>
    new RegExp(`^Phases${phase}[0-9A-F]{8}$`).test(id),
  )![1];
const statementsOfRole = (roleId: string) =>
  Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
const statementsOf = (phase: string) => statementsOfRole(fnOf(phase).Properties.Role['Fn::GetAtt'][0] as string);

describe('SyncTask (sync.runner ecs): the long-running sync on Fargate', () => {
  test('GIVEN runner ecs WHEN synthesized THEN one Fargate task of the configured size logs to its own group and holds no secret value', () => {
    const defs = syncTaskDefs();
    expect(defs).toHaveLength(1);
    const def = defs[0][1].Properties;
    expect(def).toMatchObject({
      Cpu: '2048',
      Memory: '4096',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
    const [container] = def.ContainerDefinitions;
    expect(container.Secrets).toBeUndefined();
    const env = Object.fromEntries(
      (container.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );
    expect(Object.keys(env).sort()).toEqual([
      'DB_TLS',
      'SOURCE_DB_SECRET_ARN',
      'SPEC_NAME',
      'SWITCHYARD_STAGE',
      'TARGET_DB_SECRET_ARN',
    ]);
    // ARNs (references), never a value: no SecretString or password reaches the definition.
    expect(JSON.stringify(env)).not.toMatch(/SecretString|password/i);
    expect(typeof env.SOURCE_DB_SECRET_ARN).not.toBe('string');
    expect(container.StopTimeout).toBe(120);
    expect(container.ReadonlyRootFilesystem).toBe(true);
    expect(container.LogConfiguration.Options['awslogs-group'].Ref).toMatch(/^SyncTaskLogs/);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('the task role reads both database secrets and nothing else', () => {
    const roleId = syncTaskDefs()[0][1].Properties.TaskRoleArn['Fn::GetAtt'][0] as string;
    const st = statementsOfRole(roleId);
    const actions = st.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(new Set(actions)).toEqual(
      new Set(['kms:Decrypt', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']),
    );
  });

  test('Sync and ValidateData may run, list, describe and stop the task on its cluster only, and get its settings', () => {
    for (const phase of ['Sync', 'ValidateData']) {
      const env = fnOf(phase).Properties.Environment.Variables;
      for (const k of [
        'SYNC_TASK_CLUSTER_ARN',
        'SYNC_TASK_DEFINITION_ARN',
        'SYNC_TASK_SUBNETS',
        'SYNC_TASK_SECURITY_GROUPS',
      ])
        expect(env[k]).toBeDefined();
      expect(env.SYNC_TASK_CONTAINER).toBe('sync-task');
      const st = statementsOf(phase);
      expect(st).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: 'ecs:RunTask',
            Condition: { ArnEquals: { 'ecs:cluster': expect.anything() } },
          }),
          expect.objectContaining({
            Action: ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:StopTask'],
            Condition: { ArnEquals: { 'ecs:cluster': expect.anything() } },
          }),
          expect.objectContaining({
            Action: 'iam:PassRole',
            Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
          }),
        ]),
      );
    }
    expect(fnOf('ShiftTraffic').Properties.Environment.Variables.SYNC_TASK_CLUSTER_ARN).toBeUndefined();
  });

  test('the Migrate machine starts the task and its CatchUp and Bake only observe it', () => {
    const [sm] = Object.values(t.findResources('AWS::StepFunctions::StateMachine')).filter((r) =>
      JSON.stringify(r.Properties.StateMachineName).includes('migrate'),
    );
    const def = JSON.stringify(sm.Properties.DefinitionString);
    expect(def).toContain('StartSyncTask');
    expect(def).toContain('StartSyncTaskBothWays');
    expect(def).toContain('$.syncTask.taskArn');
  });

  test('GIVEN the default (lambda) WHEN synthesized THEN no sync task and no task settings', () => {
    const d = Template.fromStack(stageFrom(parse()).migration);
    expect(Object.keys(d.findResources('AWS::ECS::TaskDefinition')).filter((id) => id.startsWith('SyncTask'))).toEqual(
      [],
    );
    expect(JSON.stringify(d.toJSON())).not.toMatch(/SYNC_TASK_|StartSyncTask/);
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding with runner ecs (provisioned and imported old side)', () => {
    const imported = stageFrom(
      parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 }, sync: { runner: 'ecs' } }),
    );
    for (const st of [stage, imported]) {
      const report = new AwsSolutionsChecks(st).validateScope(st);
      expect(
        report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
      ).toEqual([]);
    }
    const roleId = Object.entries(Template.fromStack(imported.migration).findResources('AWS::ECS::TaskDefinition'))
      .filter(([id]) => id.startsWith('SyncTask'))
      .map(([, r]) => r.Properties.TaskRoleArn['Fn::GetAtt'][0])[0];
    expect(roleId).toMatch(/^SyncTaskTaskRole/);
  });

  test('the stage config names a bad size', () => {
    expect(() => parseStageConfig(minimalConfig({ sync: { runner: 'ecs', cpu: 300 } }))).toThrow(
      /sync\.cpu.*must be one of 256, 512, 1024, 2048, 4096/,
    );
    expect(() => parseStageConfig(minimalConfig({ sync: { runner: 'fargate' as never } }))).toThrow(
      /sync\.runner.*must be "lambda" or "ecs"/,
    );
    expect(parseStageConfig(minimalConfig()).sync).toEqual({ runner: 'lambda', cpu: 1024, memoryMiB: 2048 });
  });
});

describe('the sync task image context', () => {
  test('GIVEN a synth that bundles WHEN staged THEN the context holds the bundle and the Dockerfile only, the bundle runs the task entry', () => {
    const dir = stagedImage(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['Dockerfile', 'index.js']);
    const size = fs.statSync(path.join(dir, 'index.js')).size;
    expect(size).toBeGreaterThan(100_000);
    expect(size).toBeLessThan(10_000_000);
    expect(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toMatch(
      /^FROM .*node:22[\s\S]*USER node\nCMD \["node", "index.js"\]/,
    );
    // The bundle is the task's entry: without its settings it refuses to start, naming them (no AWS call).
    const run = spawnSync(process.execPath, [path.join(dir, 'index.js')], {
      env: {},
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/sync task could not start: .*SOURCE_DB_SECRET_ARN.*SYNC_MIGRATION_ID/);
    // Staged once per set of sources: a second synth finds it.
    expect(stagedImage(true)).toBe(dir);
  }, 60_000);
});
