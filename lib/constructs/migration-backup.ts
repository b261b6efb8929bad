import { type Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { TAG_KEYS } from '../../lambda/core/tags';

export interface MigrationBackupProps {
  /** Stage name, used in names and tags. */
  readonly stageName: string;
  /** Databases the scheduled plan protects (old and new). */
  readonly databases: rds.IDatabaseInstance[];
  /** Scheduled AWS Backup plan. @default - no plan; only the workflow's manual snapshots */
  readonly plan?: {
    /** Cron expression, e.g. `cron(0 3 * * ? *)`. */
    readonly scheduleExpression: string;
    readonly deleteAfter: Duration;
  };
  /** Retain the key and vault when the stack is deleted. @default true */
  readonly retainData?: boolean;
}

/**
 * The KMS key and tagging scheme migration snapshots use, and an optional AWS
 * Backup plan with its own encrypted vault for both databases.
 */
export class MigrationBackup extends Construct {
  /** Key for migration snapshot copies and the backup vault. */
  public readonly snapshotKey: kms.Key;
  public readonly vault?: backup.BackupVault;
  public readonly plan?: backup.BackupPlan;
  /** Tags every migration snapshot gets (the migration id tag is added per execution). */
  public readonly snapshotTags: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: MigrationBackupProps) {
    super(scope, id);
    const removalPolicy = (props.retainData ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.snapshotKey = new kms.Key(this, 'SnapshotKey', {
      description: `Switchyard ${props.stageName}: migration snapshots and backups`,
      enableKeyRotation: true,
      removalPolicy,
    });
    this.snapshotTags = { [TAG_KEYS.app]: 'switchyard', [TAG_KEYS.stage]: props.stageName };

    if (props.plan) {
      this.vault = new backup.BackupVault(this, 'Vault', { encryptionKey: this.snapshotKey, removalPolicy });
      this.plan = new backup.BackupPlan(this, 'Plan', {
        backupVault: this.vault,
        backupPlanRules: [
          new backup.BackupPlanRule({
            ruleName: 'scheduled',
            scheduleExpression: events.Schedule.expression(props.plan.scheduleExpression),
            deleteAfter: props.plan.deleteAfter,
          }),
        ],
      });
      const selection = this.plan.addSelection('Databases', {
        resources: props.databases.map((db) => backup.BackupResource.fromRdsDatabaseInstance(db)),
      });
      Validations.of(selection).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        reason:
          'AWS Backup needs its service-role policy to snapshot RDS; AWS maintains it as the service adds resource types.',
      });
      for (const [k, v] of Object.entries(this.snapshotTags)) Tags.of(this.plan).add(k, v);
    }
  }

  /** Let `grantee` create encrypted snapshot copies with the snapshot key. */
  public grantSnapshotKey(grantee: iam.IGrantable): iam.Grant {
    return this.snapshotKey.grant(
      grantee,
      'kms:CreateGrant',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:Decrypt',
      'kms:ReEncrypt*',
      'kms:GenerateDataKey*',
    );
  }
}
