import { Template } from 'aws-cdk-lib/assertions';
import { PAUSE_SECONDS } from '../../../lambda/core/limits';
import { type CfnTemplate, definitionFromTemplate } from '../../../lambda/rehearsal/workflow-runner';
import { parseStageConfig } from '../../../lib/config/stage-config';
import { minimalConfig, parse, stageFrom } from '../helpers';

type State = {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Next?: string;
  Choices?: { Variable?: string; Next: string }[];
  Default?: string;
};

function migrateOf(overrides: Parameters<typeof parse>[0] = {}) {
  const t = Template.fromStack(stageFrom(parse(overrides)).migration);
  const states = definitionFromTemplate(t.toJSON() as CfnTemplate, 'migrate').States as Record<string, State>;
  return { t, states };
}

describe('Migrate pause states (template)', () => {
  const { t, states } = migrateOf();

  test('after a passed health gate, a step in $.config.pauseAt holds in a .waitForTaskToken task of the Pause function', () => {
    expect(states.HealthGate.Next).toBe('NotifyGate');
    const healthy = states['Healthy?'];
    expect(healthy.Default).toBe('PauseAtThisStep?');
    expect(states['PauseAtThisStep?'].Next).toBe('Paused?');
    expect(states['Paused?'].Choices?.[0]).toMatchObject({ Variable: '$.pauseHere.here', Next: 'NotifyPaused' });
    expect(states['Paused?'].Default).toBe('AdvanceTrafficStep');
    const hold = states.PauseAtStep;
    expect(hold.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(hold.Parameters?.FunctionName).toMatch(/:function:.*Pause/);
    expect(hold.Parameters?.Payload).toMatchObject({
      'taskToken.$': '$$.Task.Token',
      'weight.$': '$.step.newPercent',
      'healthy.$': '$.health.healthy',
      maxPauseSeconds: PAUSE_SECONDS.default,
    });
    // The pause's maximum is the state's timeout; an abort or the timeout goes to the traffic rollback.
    expect(hold.TimeoutSeconds).toBe(PAUSE_SECONDS.default);
    expect(hold.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'RollbackTrafficOnFailure' }),
    ]);
    expect(hold.Next).toBe('NotifyResumed');
    expect(states.NotifyResumedSkipped.Next ?? states.NotifyResumed.Next).toBe('AdvanceTrafficStep');
  });

  test('the Pause function may only put items in the lock table; ValidateInput gets no pause default unless configured', () => {
    const policies = Object.entries(t.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith('PhasesPauseServiceRoleDefaultPolicy'),
    );
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: unknown }[]);
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo.map((s) => s.Action)).toEqual(['dynamodb:PutItem']);
    const validate = Object.values(t.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Handler === 'index.validateInput',
    )!;
    expect(validate.Properties.Environment.Variables.DEFAULT_PAUSE_AT).toBeUndefined();
  });

  test('the dashboard shows the weight a step paused at, and how to resume or abort it', () => {
    const body = JSON.stringify(
      Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody,
    );
    expect(body).toContain('Paused at step (% new)');
    expect(body).toContain('\\"PausedAtWeight\\"');
    expect(body).toContain('resume --stage test --migration-id ID');
  });

  test('stage config pauseAt and maxPauseSeconds reach ValidateInput and the pause timeout', () => {
    const { t: configured, states: s } = migrateOf({
      migration: { pauseAt: [25, 50], maxPauseSeconds: 900 },
    });
    expect(s.PauseAtStep.TimeoutSeconds).toBe(900);
    expect(s.PauseAtStep.Parameters?.Payload).toMatchObject({ maxPauseSeconds: 900 });
    configured.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.validateInput',
      Environment: { Variables: { DEFAULT_PAUSE_AT: '25,50' } },
    });
  });

  test.each([
    [{ pauseAt: [30] }, 'migration.pauseAt must be steps of the weight schedule (5, 25, 50, 100), got: 30'],
    [{ maxPauseSeconds: 0 }, `migration.maxPauseSeconds must be at least ${PAUSE_SECONDS.min} seconds, got: 0`],
    [
      { maxPauseSeconds: PAUSE_SECONDS.max + 1 },
      `migration.maxPauseSeconds must be at most ${PAUSE_SECONDS.max} seconds, got: ${PAUSE_SECONDS.max + 1}`,
    ],
  ])('stage config migration %j is refused: %s', (migration, message) => {
    expect(() => parseStageConfig(minimalConfig({ migration }))).toThrow(message);
  });
});
