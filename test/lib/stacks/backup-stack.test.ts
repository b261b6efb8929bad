import { Match } from 'aws-cdk-lib/assertions';
import { parse, stageFrom, template } from '../helpers';

describe('BackupStack', () => {
  test('GIVEN no plan WHEN synthesized THEN only the rotating snapshot key exists', () => {
    const t = template(stageFrom(parse()).backup);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.resourceCountIs('AWS::Backup::BackupPlan', 0);
  });

  test('GIVEN a plan WHEN synthesized THEN an encrypted vault and a scheduled rule cover both databases', () => {
    const t = template(
      stageFrom(parse({ backup: { plan: { scheduleExpression: 'cron(0 4 * * ? *)', deleteAfterDays: 14 } } })).backup,
    );
    t.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: Match.anyValue() });
    t.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [
          Match.objectLike({ ScheduleExpression: 'cron(0 4 * * ? *)', Lifecycle: { DeleteAfterDays: 14 } }),
        ],
      },
    });
    const selection = Object.values(t.findResources('AWS::Backup::BackupSelection'))[0];
    expect(selection.Properties.BackupSelection.Resources).toHaveLength(2);
  });

  test('fails when the schedule is not a cron expression', () => {
    expect(() => parse({ backup: { plan: { scheduleExpression: 'daily' } } })).toThrow(
      'backup.plan.scheduleExpression must be a cron(...) expression',
    );
  });
});
