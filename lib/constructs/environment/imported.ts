import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { ImportedEnvironmentConfig } from '../../config/stage-config';
import { importedTargetGroup } from '../imported-resources';
import { directAccessRule, EnvironmentBase, IMPORTED_SIDE_NOT_ROUTED, type Side } from './base';

export interface ImportedEnvironmentProps {
  /** Which side this environment is (in practice: old). */
  readonly side: Side;
  readonly config: ImportedEnvironmentConfig;
  /**
   * The stage's listener. An ALB target group serves one load balancer only, so the imported target
   * group (on its own load balancer) cannot be forwarded to from here. Its direct-access rule
   * (`x-switchyard-side: <side>`) answers 503 {@link IMPORTED_SIDE_NOT_ROUTED} instead: without it
   * the request would fall through to the catch-all rule and reach the other side, and a smoke
   * comparison would compare the new side with itself.
   * @default - no direct-access rule
   */
  readonly listener?: elbv2.IApplicationListener;
}

/**
 * An environment that already exists (the old system nobody wants to redeploy): its target group,
 * RDS instance, security group and credentials secret are referenced, nothing is created. Whether
 * its database runs with logical replication is checked by Preflight, not assumed.
 */
export class ImportedServiceEnvironment extends EnvironmentBase {
  public readonly imported = true;

  constructor(scope: Construct, id: string, props: ImportedEnvironmentProps) {
    super(scope, id);
    const cfg = props.config;
    const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'DbSecurityGroup', cfg.dbSecurityGroupId, {
      mutable: true,
    });
    const database = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Database', {
      instanceIdentifier: cfg.dbInstanceIdentifier,
      instanceEndpointAddress: cfg.dbEndpointAddress,
      port: cfg.dbPort,
      securityGroups: [securityGroup],
      engine: rds.DatabaseInstanceEngine.POSTGRES,
    });
    // A complete secret ARN ends in a 6-character suffix; anything else is a partial ARN.
    const secret = /-[A-Za-z0-9]{6}$/.test(cfg.dbSecretArn)
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'DbSecret', cfg.dbSecretArn)
      : secretsmanager.Secret.fromSecretPartialArn(this, 'DbSecret', cfg.dbSecretArn);
    const targetGroup = importedTargetGroup(this, 'TargetGroup', cfg.targetGroupArn);
    if (props.listener) {
      directAccessRule(
        this,
        props.side,
        props.listener,
        elbv2.ListenerAction.fixedResponse(503, { contentType: 'text/plain', messageBody: IMPORTED_SIDE_NOT_ROUTED }),
      );
    }
    this.init({
      side: props.side,
      imported: true,
      parameterPath: cfg.parameterPath,
      secretPrefix: cfg.secretPrefix,
      databaseIdentifier: cfg.dbInstanceIdentifier,
      databasePort: cfg.dbPort,
      snapshotKeyArn: cfg.dbKmsKeyArn,
      serviceArns:
        cfg.ecsClusterArn && cfg.ecsServiceArn
          ? { clusterArn: cfg.ecsClusterArn, serviceArn: cfg.ecsServiceArn }
          : undefined,
      targetGroup,
      database,
      databaseSecret: secret,
      databaseSecurityGroup: securityGroup,
    });
  }
}
