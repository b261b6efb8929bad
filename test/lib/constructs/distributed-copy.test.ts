import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ERRORS } from '../../../lambda/core/errors';
import { type CfnTemplate, definitionFromTemplate } from '../../../lambda/rehearsal/workflow-runner';
import type { StageConfigInput } from '../../../lib/config/stage-config';
import type { SwitchyardStage } from '../../../lib/stacks/switchyard-stage';
import { parse, stageFrom } from '../helpers';

/** asl-validator ships no type declarations. */
const aslValidator = require('asl-validator') as (
  definition: unknown,
  opts?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

type State = {
  Type: string;
  Next?: string;
  End?: boolean;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  [k: string]: unknown;
};
type Definition = { StartAt: string; States: Record<string, State> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const MACHINES = ['migrate', 'rollback-traffic', 'restore-data', 'decommission'];

function synth(migration: StageConfigInput['migration'] = {}) {
  const stage = stageFrom(parse({ migration }));
  const template = Template.fromStack(stage.migration);
  const json = template.toJSON() as CfnTemplate;
  return { stage, template, json, migrate: definitionFromTemplate(json, 'migrate') as unknown as Definition };
}

function findings(stage: SwitchyardStage): string[] {
  const report = new AwsSolutionsChecks(stage).validateScope(stage);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

/** The policy statements attached to the Migrate state machine's role. */
function migrateRoleStatements(t: Template): Statement[] {
  const roles = Object.entries(t.findResources('AWS::IAM::Role')).filter(([id]) =>
    id.startsWith('WorkflowsMigrateMachineRole'),
  );
  expect(roles).toHaveLength(1);
  const [roleId] = roles[0];
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

describe('copy.mode distributed', () => {
  const { stage, template, json, migrate } = synth({
    copy: { mode: 'distributed', maxConcurrency: 12, chunksPerItem: 32 },
  });
  const states = migrate.States;

  test('GIVEN copy.mode distributed WHEN synthesized THEN RenewLockBeforeCopy → PlanCopy → CopyChunkGroups (a Distributed Map of STANDARD child executions, 12 at once, no failure tolerated) → CopyPlanDone → BuildIndexes', () => {
    expect(states.RenewLockBeforeCopy.Next).toBe('PlanCopy');
    expect(states.PlanCopy).toMatchObject({
      Type: 'Task',
      Next: 'CopyChunkGroups',
      ResultPath: '$.copyPlan',
      Parameters: { action: 'plan', 'migrationId.$': '$.config.migrationId', chunksPerItem: 32 },
    });
    expect(states.CopyChunkGroups).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.copyPlan.items',
      MaxConcurrency: 12,
      Label: 'CopyChunkGroups',
      ResultPath: null,
      Next: 'CopyPlanDone',
      ItemSelector: {
        'table.$': '$$.Map.Item.Value.table',
        'from.$': '$$.Map.Item.Value.from',
        'to.$': '$$.Map.Item.Value.to',
        'migrationId.$': '$.config.migrationId',
        'concurrency.$': '$.config.copyConcurrency',
      },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'CopyChunkGroup' },
    });
    // No failure tolerated: both thresholds absent, which Step Functions reads as 0 (CDK leaves out a count of 0).
    expect(states.CopyChunkGroups).not.toHaveProperty('ToleratedFailureCount');
    expect(states.CopyChunkGroups).not.toHaveProperty('ToleratedFailurePercentage');
    expect(states.CopyPlanDone).toMatchObject({ Type: 'Pass', Next: 'BuildIndexes', ResultPath: '$.copyPlan' });
    expect(states.CopyPlanDone.Parameters).toMatchObject({ 'items.$': 'States.ArrayLength($.copyPlan.items)' });
    // the inline path is not there
    expect(states.CopyTables).toBeUndefined();
  });

  test('GIVEN a child execution WHEN it runs THEN it loops CopyChunkGroup on its cursor with chunkNos until complete, retried on ChunkCopyError as CopyTable is, and ends with an empty output', () => {
    const child = (states.CopyChunkGroups.ItemProcessor as Definition).States;
    expect(Object.keys(child).sort()).toEqual(['ChunkGroupCopied?', 'ChunkGroupDone', 'CopyChunkGroup']);
    expect(child.CopyChunkGroup).toMatchObject({
      Type: 'Task',
      Next: 'ChunkGroupCopied?',
      ResultPath: '$.copy',
      Parameters: {
        'migrationId.$': '$.migrationId',
        'table.$': '$.table',
        'concurrency.$': '$.concurrency',
        chunkNos: { 'from.$': '$.from', 'to.$': '$.to' },
      },
    });
    expect(child.CopyChunkGroup.Retry?.map((r) => r.ErrorEquals)).toContainEqual([
      ERRORS.DatabaseUnreachableError,
      ERRORS.ChunkCopyError,
    ]);
    expect(child['ChunkGroupCopied?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.copy.complete', BooleanEquals: true, Next: 'ChunkGroupDone' }],
      Default: 'CopyChunkGroup',
    });
    expect(child.ChunkGroupDone).toMatchObject({ Type: 'Pass', Result: {}, End: true });
  });

  test('GIVEN PlanCopy or the map fails WHEN caught THEN the before-traffic failure path runs: notify, drop the captures, release the lock', () => {
    for (const name of ['PlanCopy', 'CopyChunkGroups']) {
      expect(states[name].Catch).toEqual([
        { ErrorEquals: [ERRORS.StaleExecutionError], ResultPath: '$.error', Next: 'NotifyStaleExecution' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailure' },
      ]);
    }
    expect(states.PlanCopy.Retry?.map((r) => r.ErrorEquals)).toContainEqual([
      ERRORS.DatabaseUnreachableError,
      ERRORS.ChunkCopyError,
    ]);
    expect(states.NotifyFailure.Next).toBe('CapturesTaken?');
    expect(JSON.stringify(states['CapturesTaken?'])).toContain('DropCapturesOnFailure');
    expect(states.DropCapturesOnFailure.Next).toBe('ReleaseLockOnFailure');
  });

  test('GIVEN the Distributed Map WHEN synthesized THEN the Migrate role may start its own child executions and describe and stop them, nothing else', () => {
    const statements = migrateRoleStatements(template);
    const migrateRef = {
      Ref: Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).find((id) =>
        id.startsWith('WorkflowsMigrateMachine'),
      )!,
    };
    const start = statements.filter((s) => [s.Action].flat().includes('states:StartExecution'));
    expect(start).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: migrateRef }]);
    const describeStop = statements.filter((s) => [s.Action].flat().includes('states:DescribeExecution'));
    expect(describeStop).toHaveLength(1);
    expect(describeStop[0].Action).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    // executions of this state machine only: arn:…:execution:<its name>:*
    const resource = JSON.stringify(describeStop[0].Resource);
    expect(resource).toContain(':execution:');
    expect(resource).toContain(JSON.stringify(migrateRef));
    expect(resource).toMatch(/":\*"\]\]\}$/);
    // no other state machine's role gets these grants (EventBridge's rule roles may start their own target only)
    const others = Object.values(template.findResources('AWS::IAM::Policy')).filter(
      (p) =>
        !JSON.stringify(p.Properties.Roles).includes('WorkflowsMigrateMachineRole') &&
        !/MachineEventsRole/.test(JSON.stringify(p.Properties.Roles)),
    );
    expect(JSON.stringify(others)).not.toMatch(/states:(StartExecution|DescribeExecution|StopExecution)/);
  });

  test('GIVEN every state machine of the stage WHEN validated with asl-validator THEN the definitions have no errors', () => {
    for (const name of MACHINES) {
      const result = aslValidator(definitionFromTemplate(json, name));
      expect({ name, errors: result.errorsText('\n') }).toEqual({ name, errors: '' });
      expect(result.isValid).toBe(true);
    }
  });

  test('GIVEN a broken Distributed Map WHEN validated THEN asl-validator reports it (the check is not vacuous)', () => {
    const broken = JSON.parse(JSON.stringify(migrate)) as Definition;
    const processor = broken.States.CopyChunkGroups.ItemProcessor as { ProcessorConfig: { Mode: string } };
    processor.ProcessorConfig.Mode = 'SIDEWAYS';
    expect(aslValidator(broken).isValid).toBe(false);
  });

  test('GIVEN the Distributed Map grants WHEN checked with cdk-nag THEN there are zero unacknowledged findings', () => {
    expect(findings(stage)).toEqual([]);
  });
});

describe('copy.mode inline (the default)', () => {
  const { template, json, migrate } = synth();

  test('GIVEN no copy config WHEN synthesized THEN CopyTables is an inline Map over groups of 500 tables, and there is no Distributed Map, no PlanCopy and no child-execution grant', () => {
    expect(migrate.States.RenewLockBeforeCopy.Next).toBe('GroupTables');
    expect(migrate.States.GroupTables).toMatchObject({
      Type: 'Pass',
      Parameters: { 'groups.$': 'States.ArrayPartition($.config.tables, 500)', tablesPerGroup: 500 },
      ResultPath: '$.copyGroups',
      Next: 'CopyTables',
    });
    expect(migrate.States.CopyTables).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.copyGroups.groups',
      MaxConcurrency: 1,
      ItemSelector: {
        'tables.$': '$$.Map.Item.Value',
        'migrationId.$': '$.config.migrationId',
        'concurrency.$': '$.config.copyConcurrency',
      },
      ResultPath: null,
      Next: 'CopyTablesDone',
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'CopyTable' },
    });
    // the group list does not ride along: only its length stays
    expect(migrate.States.CopyTablesDone).toMatchObject({
      Type: 'Pass',
      Parameters: { 'groups.$': 'States.ArrayLength($.copyGroups.groups)' },
      ResultPath: '$.copyGroups',
      Next: 'BuildIndexes',
    });
    expect(migrate.States.PlanCopy).toBeUndefined();
    expect(JSON.stringify(migrate)).not.toContain('DISTRIBUTED');
    expect(JSON.stringify(migrateRoleStatements(template))).not.toContain('states:StartExecution');
  });

  test('GIVEN a group WHEN it runs THEN CopyTable copies its tables (one call, the whole connection budget) and loops on its cursor until complete, retried on transient errors, failing into the before-traffic path', () => {
    const group = (migrate.States.CopyTables.ItemProcessor as Definition).States;
    expect(Object.keys(group).sort()).toEqual(['CopyTable', 'TableCopied?', 'TableDone']);
    expect(group.CopyTable).toMatchObject({
      Type: 'Task',
      Next: 'TableCopied?',
      ResultPath: '$.copy',
      Parameters: {
        'migrationId.$': '$.migrationId',
        'tables.$': '$.tables',
        'concurrency.$': '$.concurrency',
      },
    });
    expect(group.CopyTable.Parameters).not.toHaveProperty('table.$');
    expect(group.CopyTable.Retry?.map((r) => r.ErrorEquals)).toContainEqual([
      ERRORS.DatabaseUnreachableError,
      ERRORS.ChunkCopyError,
    ]);
    expect(group['TableCopied?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.copy.complete', BooleanEquals: true, Next: 'TableDone' }],
      Default: 'CopyTable',
    });
    expect(migrate.States.CopyTables.Catch).toEqual([
      { ErrorEquals: [ERRORS.StaleExecutionError], ResultPath: '$.error', Next: 'NotifyStaleExecution' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailure' },
    ]);
  });

  test('GIVEN copy.tablesPerGroup WHEN synthesized THEN the groups are that size; out of range it is refused at synth', () => {
    expect(synth({ copy: { tablesPerGroup: 16 } }).migrate.States.GroupTables.Parameters).toEqual({
      'groups.$': 'States.ArrayPartition($.config.tables, 16)',
      tablesPerGroup: 16,
    });
    expect(() => parse({ migration: { copy: { tablesPerGroup: 0 } } })).toThrow(/tablesPerGroup.*at least 1/s);
    expect(() => parse({ migration: { copy: { tablesPerGroup: 1_001 } } })).toThrow(/tablesPerGroup.*at most 1000/s);
  });

  test('GIVEN the default stage WHEN validated with asl-validator THEN the definitions have no errors', () => {
    for (const name of MACHINES) expect(aslValidator(definitionFromTemplate(json, name)).errorsText('\n')).toBe('');
  });
});
