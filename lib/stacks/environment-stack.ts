import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/stage-config';
import {
  ImportedServiceEnvironment,
  type IServiceEnvironment,
  ProvisionedServiceEnvironment,
  type Side,
} from '../constructs/service-environment';

export interface EnvironmentStackProps extends StackProps {
  readonly side: Side;
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly listener: elbv2.IApplicationListener;
  readonly protectData: boolean;
  /** @default - generated */
  readonly databaseInstanceIdentifier?: string;
}

/** One side of the migration (instantiated twice per stage: old and new). */
export class EnvironmentStack extends Stack {
  public readonly side: IServiceEnvironment;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    // Two paths, chosen by the config's discriminant: reference an existing environment, or provision one.
    this.side =
      props.config.mode === 'imported'
        ? new ImportedServiceEnvironment(this, 'Environment', {
            side: props.side,
            config: props.config,
            listener: props.listener,
          })
        : new ProvisionedServiceEnvironment(this, 'Environment', {
            side: props.side,
            config: props.config,
            vpc: props.vpc,
            listener: props.listener,
            protectData: props.protectData,
            databaseInstanceIdentifier: props.databaseInstanceIdentifier,
          });
  }
}
