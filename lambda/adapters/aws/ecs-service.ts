import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { ServiceRestarter } from '../../core/backup/ports';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** An ECS service restarted with a forced new deployment: new tasks read the repointed database secret. */
export class EcsServiceRestarter implements ServiceRestarter {
  public readonly description: string;
  constructor(
    private readonly props: { readonly clusterArn: string; readonly serviceArn: string },
    private readonly ecs: ECSClient = new ECSClient({ ...AWS_CLIENT_CONFIG }),
  ) {
    this.description = `ECS service ${props.serviceArn}`;
  }

  async restart(): Promise<void> {
    await call('ecs:UpdateService', this.props.serviceArn, () =>
      this.ecs.send(
        new UpdateServiceCommand({
          cluster: this.props.clusterArn,
          service: this.props.serviceArn,
          forceNewDeployment: true,
        }),
      ),
    );
  }
}
