import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface StageLockTableProps {
  readonly stageName: string;
  /** @default RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The one-migration-per-stage lock (item `lock#<stage>`: owner, lease, halt flag), what
 * Finalize recorded (item `completed#<stage>`) and a held step's task token (item
 * `pause#<stage>#<migration id>`), in an on-demand DynamoDB table encrypted with
 * the AWS-managed KMS key, point-in-time recovery on.
 */
export class StageLockTable extends Construct {
  /** The environment variable the phase functions read the table name from. */
  static readonly ENV_VAR = 'LOCK_TABLE_NAME';
  /** The table's name for a stage (the operator CLI finds a paused step's token there). */
  static tableNameFor(stageName: string): string {
    return `switchyard-${stageName}-lock`;
  }
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StageLockTableProps) {
    super(scope, id);
    if (!/^[a-z0-9-]+$/.test(props.stageName))
      throw new Error(`stageName must be lowercase letters, digits and dashes, got: ${props.stageName}`);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: StageLockTable.tableNameFor(props.stageName),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Take, renew, halt, release and read the lock (conditional item writes on this table only). */
  grantLock(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  /**
   * Prove ownership before a write (fencing): dynamodb:GetItem (who holds the stage) and
   * dynamodb:UpdateItem (the conditional fence check) on this table only.
   */
  grantFence(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  /**
   * Record a held traffic step's task token (the Pause phase): dynamodb:PutItem on this table only
   * (item `pause#<stage>#<migration id>`). The operator's `switchyard resume|abort` needs
   * dynamodb:GetItem and dynamodb:DeleteItem on it, and states:SendTaskSuccess / SendTaskFailure.
   */
  grantRecordPause(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:PutItem'], resourceArns: [this.table.tableArn] });
  }

  /** Record the end of a migration (Finalize). */
  grantRecordCompletion(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:PutItem'], resourceArns: [this.table.tableArn] });
  }
}
