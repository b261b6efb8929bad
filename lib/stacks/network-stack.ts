import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { EdgeNetwork } from '../constructs/edge-network';
import { importedCertificate } from '../constructs/imported-resources';

export interface NetworkStackProps extends StackProps {
  readonly config: StageConfig;
}

/** The stage's VPC and its ALB listener, shared by both environments. */
export class NetworkStack extends Stack {
  public readonly network: EdgeNetwork;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { network, routing, protectData } = props.config;
    this.network = new EdgeNetwork(this, 'Edge', {
      cidr: network.cidr,
      maxAzs: network.maxAzs,
      natGateways: network.natGateways,
      listenerPort: routing.alb.port,
      certificate: routing.alb.certificateArn
        ? importedCertificate(this, 'Certificate', routing.alb.certificateArn)
        : undefined,
      ingressCidr: routing.alb.ingressCidr,
      retainData: protectData,
    });
  }
}
