import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { MigrationBackup } from '../constructs/migration-backup';

export interface BackupStackProps extends StackProps {
  readonly config: StageConfig;
  readonly databases: rds.IDatabaseInstance[];
}

/** Snapshot key, tagging scheme and the optional scheduled backup plan. */
export class BackupStack extends Stack {
  public readonly backup: MigrationBackup;

  constructor(scope: Construct, id: string, props: BackupStackProps) {
    super(scope, id, props);
    const plan = props.config.backup.plan;
    this.backup = new MigrationBackup(this, 'Backup', {
      stageName: props.config.stageName,
      databases: props.databases,
      plan: plan
        ? { scheduleExpression: plan.scheduleExpression, deleteAfter: Duration.days(plan.deleteAfterDays) }
        : undefined,
      retainData: props.config.protectData,
    });
  }
}
