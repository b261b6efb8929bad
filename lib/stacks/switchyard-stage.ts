import { Stage, type StageProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { TAG_KEYS } from '../../lambda/core/tags';
import { BackupStack } from './backup-stack';
import { EnvironmentStack } from './environment-stack';
import { MigrationStack } from './migration-stack';
import { NetworkStack } from './network-stack';
import { RoutingStack } from './routing-stack';

export interface SwitchyardStageProps extends StageProps {
  readonly config: StageConfig;
}

/**
 * Every stack of one stage, wired together. Deployed by `cdk deploy` for one
 * stage, or promoted as a unit by the pipeline.
 */
export class SwitchyardStage extends Stage {
  public readonly config: StageConfig;
  public readonly network: NetworkStack;
  public readonly oldEnvironment: EnvironmentStack;
  public readonly newEnvironment: EnvironmentStack;
  public readonly routing: RoutingStack;
  public readonly backup: BackupStack;
  public readonly migration: MigrationStack;

  constructor(scope: Construct, id: string, props: SwitchyardStageProps) {
    const { config } = props;
    super(scope, id, { ...props, env: props.env ?? { account: config.account, region: config.region } });
    this.config = config;
    const name = (s: string) => `switchyard-${config.stageName}-${s}`;

    this.network = new NetworkStack(this, 'Network', { stackName: name('network'), config });
    const { vpc, listener, loadBalancer, listenerUrl } = this.network.network;
    const envProps = { vpc, listener, protectData: config.protectData };
    this.oldEnvironment = new EnvironmentStack(this, 'OldEnvironment', {
      stackName: name('old'),
      side: 'old',
      config: config.oldEnvironment,
      databaseInstanceIdentifier: name('old'),
      ...envProps,
    });
    this.newEnvironment = new EnvironmentStack(this, 'NewEnvironment', {
      stackName: name('new'),
      side: 'new',
      config: config.newEnvironment,
      databaseInstanceIdentifier: name('new'),
      ...envProps,
    });
    this.routing = new RoutingStack(this, 'Routing', {
      stackName: name('routing'),
      config,
      loadBalancer,
      listener,
      oldEnvironment: this.oldEnvironment.side,
      newEnvironment: this.newEnvironment.side,
    });
    this.backup = new BackupStack(this, 'Backup', {
      stackName: name('backup'),
      config,
      databases: [this.oldEnvironment.side.database, this.newEnvironment.side.database],
    });

    this.migration = new MigrationStack(this, 'Migration', {
      stackName: name('migration'),
      config,
      vpc,
      loadBalancer,
      listenerUrl,
      oldEnvironment: this.oldEnvironment.side,
      newEnvironment: this.newEnvironment.side,
      alb: this.routing.alb,
      dns: this.routing.dns,
    });

    Tags.of(this).add(TAG_KEYS.app, 'switchyard');
    Tags.of(this).add(TAG_KEYS.stage, config.stageName);
    Tags.of(this.oldEnvironment).add(TAG_KEYS.side, 'old');
    Tags.of(this.newEnvironment).add(TAG_KEYS.side, 'new');
  }
}
