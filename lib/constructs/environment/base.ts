import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import { SIDE_HEADER } from '../../../lambda/core/verify/ports';

/** Which side of the migration an environment is. */
export type Side = 'old' | 'new';

/** Listener rule priority of each side's direct-access rule (below the weighted rule's 100). */
export const DIRECT_ACCESS_PRIORITY: Readonly<Record<Side, number>> = { old: 10, new: 20 };

/**
 * The rule that reaches one side by header (`x-switchyard-side: <side>`, {@link SIDE_HEADER}),
 * outside the weights: the Smoke phase sends each check to the new side and compares with the old.
 */
export function directAccessRule(
  scope: Construct,
  side: Side,
  listener: elbv2.IApplicationListener,
  action: elbv2.ListenerAction,
): elbv2.ApplicationListenerRule {
  return new elbv2.ApplicationListenerRule(scope, 'DirectAccessRule', {
    listener,
    priority: DIRECT_ACCESS_PRIORITY[side],
    conditions: [elbv2.ListenerCondition.httpHeader(SIDE_HEADER, [side])],
    action,
  });
}

/** What the stage listener answers, by header, for an imported side it cannot forward to. */
export const IMPORTED_SIDE_NOT_ROUTED =
  'switchyard: this side is imported and keeps its own load balancer; the stage listener cannot reach it ' +
  '(smoke: set verification.oldBaseUrl to compare answers)';

/** What every environment exposes, declared once (the base class takes them from its subclass). */
export interface EnvironmentAttributes {
  readonly side: Side;
  /** True for an environment referenced from existing resources (nothing created for it). */
  readonly imported: boolean;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  readonly database: rds.IDatabaseInstance;
  /** Secret with the standard RDS JSON (host, port, username, password, dbname). */
  readonly databaseSecret: secretsmanager.ISecret;
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  readonly databasePort: number;
  readonly parameterPath: string;
  readonly secretPrefix: string;
  /** The Fargate service (provisioned environments only). */
  readonly service?: ecs.FargateService;
  /** The database identifier: a literal when it is known at synth time (fixed or imported), else a token. */
  readonly databaseIdentifier: string;
  /** Key encrypting the database, its secret and logs (provisioned environments). */
  readonly dataKey?: kms.IKey;
  /** ARN of the key encrypting the database's snapshots, when customer-managed and known. */
  readonly snapshotKeyArn?: string;
  /** The service's ECS ARNs, when Switchyard knows them. */
  readonly serviceArns?: { readonly clusterArn: string; readonly serviceArn: string };
}

/** One side of the migration, whether Switchyard provisioned it or imported it. */
export interface IServiceEnvironment extends IConstruct, EnvironmentAttributes {
  grantDatabaseSecretRead(grantee: iam.IGrantable): iam.Grant;
  grantDatabaseSecretWrite(grantee: iam.IGrantable): iam.Grant;
  grantRestoreFromSnapshot(grantee: iam.IGrantable): iam.Grant | undefined;
  grantRestartService(grantee: iam.IGrantable): iam.Grant | undefined;
  allowDatabaseFrom(
    scope: Construct,
    id: string,
    peer: ec2.ISecurityGroup,
    description?: string,
  ): ec2.CfnSecurityGroupIngress;
  parameterArnPattern(): string;
  secretArnPattern(): string;
  grantConfigRead(grantee: iam.IGrantable): iam.Grant;
  grantConfigWrite(grantee: iam.IGrantable): iam.Grant;
  denyDatabaseSecretWrite(grantee: iam.IGrantable): void;
}

/**
 * What both kinds of environment share: the attributes, declared once in {@link EnvironmentAttributes}
 * (merged into this class), and the grants, written once. A subclass computes its attributes and
 * hands them to {@link EnvironmentBase.init}.
 */
export interface EnvironmentBase extends EnvironmentAttributes {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see above
export abstract class EnvironmentBase extends Construct implements IServiceEnvironment {
  /** Set the attributes a subclass computed (once, from its constructor). */
  protected init(attributes: EnvironmentAttributes): void {
    Object.assign(this, attributes);
  }

  /**
   * Read the database credentials secret. Identity-policy only (the key policy
   * already trusts the account), so grantees in other stacks create no cycle.
   */
  public grantDatabaseSecretRead(grantee: iam.IGrantable): iam.Grant {
    this.grantSecretKey(grantee, ['kms:Decrypt']);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [this.databaseSecret.secretArn],
    });
  }

  /** Write a new version of the database credentials secret (data restore repoints it). */
  public grantDatabaseSecretWrite(grantee: iam.IGrantable): iam.Grant {
    this.grantSecretKey(grantee, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      resourceArns: [this.databaseSecret.secretArn],
    });
  }

  /**
   * Restore this side's database from its snapshots: an encrypted snapshot is restored with its
   * own key, for which RDS creates a grant on the caller's behalf (only through RDS in this region).
   */
  public grantRestoreFromSnapshot(grantee: iam.IGrantable): iam.Grant | undefined {
    const keyArn = this.snapshotKeyArn;
    if (!keyArn) return undefined; // aws/rds managed key: no grant needed
    const viaRds = { 'kms:ViaService': `rds.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` };
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:DescribeKey'],
      resourceArns: [keyArn],
      conditions: { StringEquals: viaRds },
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:CreateGrant'],
      resourceArns: [keyArn],
      conditions: { StringEquals: viaRds, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
  }

  /** Force a new deployment of this side's service (and nothing else): RestoreData restarts the old side after repointing. */
  public grantRestartService(grantee: iam.IGrantable): iam.Grant | undefined {
    const arns = this.serviceArns;
    if (!arns) return undefined;
    return iam.Grant.addToPrincipal({ grantee, actions: ['ecs:UpdateService'], resourceArns: [arns.serviceArn] });
  }

  private grantSecretKey(grantee: iam.IGrantable, actions: string[]) {
    if (!this.dataKey) return; // imported secrets: their key policy is the owner's
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.dataKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` },
        },
      }),
    );
  }

  /**
   * Let `peer` open connections to this side's database. The ingress rule is
   * created in `scope` (the peer's stack), so the database's stack does not
   * come to depend on the peer's.
   */
  public allowDatabaseFrom(
    scope: Construct,
    id: string,
    peer: ec2.ISecurityGroup,
    description = 'Switchyard migration access',
  ): ec2.CfnSecurityGroupIngress {
    return new ec2.CfnSecurityGroupIngress(scope, id, {
      groupId: this.databaseSecurityGroup.securityGroupId,
      sourceSecurityGroupId: peer.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: this.databasePort,
      toPort: this.databasePort,
      description,
    });
  }

  /** ARN pattern of every SSM parameter under this side's path. */
  public parameterArnPattern(): string {
    return Arn.format(
      {
        service: 'ssm',
        resource: 'parameter',
        resourceName: `${this.parameterPath.replace(/^\//, '')}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /** ARN pattern of every secret under this side's prefix. */
  public secretArnPattern(): string {
    return Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${this.secretPrefix}/*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /** Read this side's configuration: parameters under its path and secrets under its prefix. */
  public grantConfigRead(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'],
      resourceArns: [this.parameterArnPattern()],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:ListSecretVersionIds',
      ],
      resourceArns: [this.secretArnPattern()],
    });
  }

  /**
   * Write this side's configuration (create/update/restore parameters and secrets under its namespace),
   * encrypted with this side's key (through SSM and Secrets Manager only). The database's own
   * credentials secret lies under the same prefix; it is explicitly denied: no config write may touch it.
   */
  public grantConfigWrite(grantee: iam.IGrantable): iam.Grant {
    this.grantConfigRead(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource', 'ssm:ListTagsForResource'],
      resourceArns: [this.parameterArnPattern()],
    });
    if (this.dataKey) {
      const region = Stack.of(this).region;
      const suffix = Stack.of(this).urlSuffix;
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [this.dataKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': [`ssm.${region}.${suffix}`, `secretsmanager.${region}.${suffix}`] },
          },
        }),
      );
    }
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecret',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:DeleteSecret',
        'secretsmanager:RestoreSecret',
        'secretsmanager:TagResource',
      ],
      resourceArns: [this.secretArnPattern()],
    });
    this.denyDatabaseSecretWrite(grantee);
    return grant;
  }

  /** Explicitly deny every write to this side's database credentials secret (an allow on the prefix cannot reach it). */
  public denyDatabaseSecretWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: [
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecret',
          'secretsmanager:UpdateSecretVersionStage',
          'secretsmanager:DeleteSecret',
          'secretsmanager:RestoreSecret',
          'secretsmanager:TagResource',
          'secretsmanager:CreateSecret',
        ],
        resources: [this.databaseSecret.secretArn, this.databaseSecretNamePattern()],
      }),
    );
  }

  /** `<prefix>/db-??????`: the database secret by name (CreateSecret authorizes against the name before an ARN exists). */
  private databaseSecretNamePattern(): string {
    return Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${this.secretPrefix}/db-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }
}
