import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PHASES, type PhaseManifestEntry, type PhaseName } from '../../lambda/phases';
import { HANDLERS_ENTRY, handlerBundling } from './handler-bundle';

export { HANDLERS_ENTRY };

export type { PhaseName };

export interface PhaseFunctionProps {
  /** Which handler export this function runs. */
  readonly phase: PhaseName;
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Non-secret settings (ARNs, ids, names). Never put a secret value here. */
  readonly environment: Readonly<Record<string, string>>;
  /** @default - the phase's timeout in the manifest (lambda/phases.ts) */
  readonly timeout?: Duration;
  /** @default - the phase's memory in the manifest, else 512 */
  readonly memorySize?: number;
  /** @default RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** A phase handler as a Lambda function with Switchyard's defaults: Node 24 on arm64, in the VPC, X-Ray, JSON logs kept a month. */
export class PhaseFunction extends nodejs.NodejsFunction {
  public readonly phase: PhaseName;

  constructor(scope: Construct, id: string, props: PhaseFunctionProps) {
    for (const [k, v] of Object.entries(props.environment)) {
      if (/password|secret_value|token/i.test(k))
        throw new Error(`environment must not carry secret values, got key: ${k}`);
      if (v === undefined) throw new Error(`environment ${k} must have a value`);
    }
    const manifest: PhaseManifestEntry = PHASES[props.phase];
    super(scope, id, {
      entry: HANDLERS_ENTRY,
      handler: props.phase,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? manifest.memoryMb ?? 512,
      timeout: props.timeout ?? Duration.seconds(manifest.timeoutSeconds),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: new logs.LogGroup(scope, `${id}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      }),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      // One bundle for every phase function, hashed by its sources (built once per app, reused while unchanged).
      bundling: handlerBundling(),
    });
    this.phase = props.phase;
  }
}
