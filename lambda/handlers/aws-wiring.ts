import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { AlbRouter } from '../adapters/aws/alb-router';
import { CloudWatchAlarmReader } from '../adapters/aws/cloudwatch-alarms';
import { RdsFreeStorage } from '../adapters/aws/rds-free-storage';
import { DynamoLockStore } from '../adapters/aws/dynamo-lock';
import { DynamoPauseStore } from '../adapters/aws/dynamo-pause';
import { databaseEndpointFromSecret } from '../adapters/aws/db-credentials';
import { call } from '../adapters/aws/errors';
import { EcsServiceRestarter } from '../adapters/aws/ecs-service';
import { EcsSyncTasks } from '../adapters/aws/ecs-sync-task';
import { RdsSnapshotService } from '../adapters/aws/rds-snapshots';
import { Route53Router } from '../adapters/aws/route53-router';
import { SecretsConfigStore } from '../adapters/aws/secrets-config-store';
import { SsmConfigStore } from '../adapters/aws/ssm-config-store';
import { environmentTransferRules } from '../core/config/transfer';
import { DEFAULT_SPEC_NAME, MAX_CATCH_UP_MINUTES, STAGE_DEFAULTS } from '../core/limits';
import type { PhaseDeps } from './support/deps';
import { ConfigurationError, parseEnv } from './support/input';
import { createLogger } from './support/logger';
import { AWS_CLIENT_CONFIG } from '../adapters/aws/retry';
import { CloudWatchCanaryMetrics, loadBalancerDimension, targetGroupDimension } from '../adapters/aws/canary-metrics';
import { FetchHttpProbe } from '../adapters/http/fetch-probe';
import { OLD_SIDE_IMPORTED_NOT_COMPARED } from '../core/verify/config';
import type { OldSideAccess } from '../core/verify/ports';

/**
 * The phase functions' settings: identifiers and ARNs only (no secret values);
 * the CDK phase-function construct sets them.
 */
export const phaseEnvSchema = z
  .object({
    SWITCHYARD_STAGE: z.string().min(1),
    SPEC_NAME: z.string().min(1).default(DEFAULT_SPEC_NAME),
    SOURCE_DB_SECRET_ARN: z.string().min(1),
    TARGET_DB_SECRET_ARN: z.string().min(1),
    /** TLS of the database connections: `require` (unverified) only when the stage says so. */
    DB_TLS: z.enum(['verify-full', 'require']).default('verify-full'),
    OLD_DB_ID: z.string().min(1),
    OLD_DB_IS_CLUSTER: z.enum(['true', 'false']).default('false'),
    /** The new database's instance identifier (Preflight's free storage check). */
    NEW_DB_ID: z.string().optional(),
    ROUTING_KIND: z.enum(['alb', 'route53']),
    ALB_RULE_ARN: z.string().optional(),
    OLD_TARGET_GROUP_ARN: z.string().optional(),
    NEW_TARGET_GROUP_ARN: z.string().optional(),
    HOSTED_ZONE_ID: z.string().optional(),
    RECORD_NAME: z.string().optional(),
    HEALTH_ALARM_PREFIX: z.string().min(1),
    /** The stage lock's DynamoDB table (set on the functions granted it). */
    LOCK_TABLE_NAME: z.string().min(1).optional(),
    OLD_PARAMETER_PATH: z.string().min(1),
    NEW_PARAMETER_PATH: z.string().min(1),
    OLD_SECRET_PREFIX: z.string().min(1),
    NEW_SECRET_PREFIX: z.string().min(1),
    /** The new side's KMS key: what the config transfer writes there is encrypted with it. */
    NEW_KMS_KEY_ARN: z.string().min(1),
    /** The old side's ECS service and cluster (restarted after a data restore); absent for an imported old side. */
    OLD_SERVICE_ARN: z.string().optional(),
    OLD_CLUSTER_ARN: z.string().optional(),
    DEFAULT_SCHEDULE: z
      .string()
      .regex(/^\d+(,\d+)*$/, 'must be comma-separated percentages')
      .default(STAGE_DEFAULTS.weightSchedule.join(',')),
    DEFAULT_BAKE_SECONDS: z.coerce.number().int().min(0).default(STAGE_DEFAULTS.bakeSeconds),
    DEFAULT_MAX_LAG_SECONDS: z.coerce.number().min(0).default(STAGE_DEFAULTS.maxCatchUpLagSeconds),
    DEFAULT_MAX_CATCH_UP_MINUTES: z.coerce
      .number()
      .int()
      .min(MAX_CATCH_UP_MINUTES.min)
      .default(MAX_CATCH_UP_MINUTES.default),
    DEFAULT_COPY_CONCURRENCY: z.coerce.number().int().min(1).default(STAGE_DEFAULTS.copyConcurrency),
    /** Steps (weights) that hold for the operator after their gate (stage config `pauseAt`); set on ValidateInput only. */
    DEFAULT_PAUSE_AT: z
      .string()
      .regex(/^(\d+(,\d+)*)?$/, 'must be comma-separated percentages')
      .default(''),
    /** Smoke: the stage's entry point (listener URL or service domain); the probe adds the direct-access header. */
    SMOKE_BASE_URL: z.string().url('must be an absolute URL like https://api.example.com').optional(),
    /** Smoke: the old side's own entry point (`verification.oldBaseUrl`); its requests go there without the side header. */
    SMOKE_OLD_BASE_URL: z.string().url('must be an absolute URL like https://old.example.com').optional(),
    /** Smoke: `false` when the old side cannot be reached (imported, no oldBaseUrl): read checks are not compared (reported). */
    SMOKE_COMPARE_OLD: z.enum(['true', 'false']).default('true'),
    /** Canary: each side's target group and load balancer (the ALB metrics' TargetGroup/LoadBalancer dimensions). */
    CANARY_OLD_TARGET_GROUP_ARN: z
      .string()
      .regex(/:targetgroup\/[^/]+\/[^/]+$/, 'must be a target group ARN')
      .optional(),
    CANARY_NEW_TARGET_GROUP_ARN: z
      .string()
      .regex(/:targetgroup\/[^/]+\/[^/]+$/, 'must be a target group ARN')
      .optional(),
    CANARY_OLD_LOAD_BALANCER_ARN: z
      .string()
      .regex(/:loadbalancer\/app\/[^/]+\/[^/]+$/, 'must be an application load balancer ARN')
      .optional(),
    /** `sync.runner: ecs` (set on Sync and ValidateData only): the sync task's cluster, definition, container and network. */
    SYNC_TASK_CLUSTER_ARN: z.string().min(1).optional(),
    SYNC_TASK_DEFINITION_ARN: z.string().min(1).optional(),
    SYNC_TASK_CONTAINER: z.string().min(1).optional(),
    SYNC_TASK_SUBNETS: z.string().min(1).optional(),
    SYNC_TASK_SECURITY_GROUPS: z.string().min(1).optional(),
    CANARY_NEW_LOAD_BALANCER_ARN: z
      .string()
      .regex(/:loadbalancer\/app\/[^/]+\/[^/]+$/, 'must be an application load balancer ARN')
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (e.SMOKE_OLD_BASE_URL && e.SMOKE_COMPARE_OLD === 'false')
      ctx.addIssue({
        code: 'custom',
        path: ['SMOKE_COMPARE_OLD'],
        message: 'must not be false when SMOKE_OLD_BASE_URL is set (the old side is reachable there)',
      });
    const need =
      e.ROUTING_KIND === 'alb'
        ? ['ALB_RULE_ARN', 'OLD_TARGET_GROUP_ARN', 'NEW_TARGET_GROUP_ARN']
        : ['HOSTED_ZONE_ID', 'RECORD_NAME'];
    for (const k of need)
      if (!(e as Record<string, unknown>)[k])
        ctx.addIssue({ code: 'custom', path: [k], message: `is required when ROUTING_KIND is ${e.ROUTING_KIND}` });
  });

/** The name in a secret ARN (`arn:...:secret:<name>-AbCdEf` -> `<name>`); a plain name is returned as is. */
export function secretNameOf(arnOrName: string): string {
  const m = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(arnOrName);
  return m ? m[1] : arnOrName;
}

/** Build the AWS adapters from the function's environment. Clients keep the SDK's default endpoint/region/credential resolution. */
type PhaseEnv = ReturnType<typeof parseEnv<typeof phaseEnvSchema>>;

export function awsDeps(env: NodeJS.ProcessEnv = process.env): PhaseDeps {
  const e = parseEnv(phaseEnvSchema, env);
  const sm = new SecretsManagerClient({ ...AWS_CLIENT_CONFIG });
  return {
    stage: e.SWITCHYARD_STAGE,
    log: createLogger({ service: 'switchyard', stage: e.SWITCHYARD_STAGE }),
    specName: e.SPEC_NAME,
    sourceDb: () => databaseEndpointFromSecret(e.SOURCE_DB_SECRET_ARN, sm, { ssl: e.DB_TLS }),
    targetDb: () => databaseEndpointFromSecret(e.TARGET_DB_SECRET_ARN, sm, { ssl: e.DB_TLS }),
    ...trafficPorts(e),
    ...databasePorts(e),
    configStores: [new SsmConfigStore(new SSMClient({ ...AWS_CLIENT_CONFIG })), new SecretsConfigStore(sm)],
    transferRules: environmentTransferRules(
      { parameterPath: e.OLD_PARAMETER_PATH, secretPrefix: e.OLD_SECRET_PREFIX },
      {
        parameterPath: e.NEW_PARAMETER_PATH,
        secretPrefix: e.NEW_SECRET_PREFIX,
        kmsKeyId: e.NEW_KMS_KEY_ARN,
        databaseSecretName: secretNameOf(e.TARGET_DB_SECRET_ARN),
      },
    ),
    repointOldDatabase: (endpoint) => repointSecret(sm, e.SOURCE_DB_SECRET_ARN, endpoint),
    syncTasks: syncTasks(e),
    defaults: {
      schedule: e.DEFAULT_SCHEDULE.split(',').map(Number),
      bakeSeconds: e.DEFAULT_BAKE_SECONDS,
      maxCatchUpLagSeconds: e.DEFAULT_MAX_LAG_SECONDS,
      maxCatchUpMinutes: e.DEFAULT_MAX_CATCH_UP_MINUTES,
      copyConcurrency: e.DEFAULT_COPY_CONCURRENCY,
      pauseAt: e.DEFAULT_PAUSE_AT ? e.DEFAULT_PAUSE_AT.split(',').map(Number) : [],
    },
    now: () => Date.now(),
  };
}

/** Weights, alarms, Smoke's probes and the canary's metrics. */
function trafficPorts(e: PhaseEnv) {
  const router =
    e.ROUTING_KIND === 'alb'
      ? new AlbRouter(
          {
            ruleArn: e.ALB_RULE_ARN!,
            oldTargetGroupArn: e.OLD_TARGET_GROUP_ARN!,
            newTargetGroupArn: e.NEW_TARGET_GROUP_ARN!,
          },
          new ElasticLoadBalancingV2Client({ ...AWS_CLIENT_CONFIG }),
        )
      : new Route53Router(
          { hostedZoneId: e.HOSTED_ZONE_ID!, recordName: e.RECORD_NAME! },
          new Route53Client({ ...AWS_CLIENT_CONFIG }),
        );
  const canary =
    e.CANARY_OLD_TARGET_GROUP_ARN &&
    e.CANARY_NEW_TARGET_GROUP_ARN &&
    e.CANARY_OLD_LOAD_BALANCER_ARN &&
    e.CANARY_NEW_LOAD_BALANCER_ARN
      ? {
          old: {
            loadBalancer: loadBalancerDimension(e.CANARY_OLD_LOAD_BALANCER_ARN),
            targetGroup: targetGroupDimension(e.CANARY_OLD_TARGET_GROUP_ARN),
          },
          new: {
            loadBalancer: loadBalancerDimension(e.CANARY_NEW_LOAD_BALANCER_ARN),
            targetGroup: targetGroupDimension(e.CANARY_NEW_TARGET_GROUP_ARN),
          },
        }
      : undefined;
  return {
    router,
    alarms: new CloudWatchAlarmReader(
      { prefix: e.HEALTH_ALARM_PREFIX },
      new CloudWatchClient({ ...AWS_CLIENT_CONFIG }),
    ),
    probe: e.SMOKE_BASE_URL ? new FetchHttpProbe(e.SMOKE_BASE_URL) : undefined,
    oldSide: smokeOldSide(e.SMOKE_OLD_BASE_URL, e.SMOKE_COMPARE_OLD),
    canaryMetrics: canary
      ? new CloudWatchCanaryMetrics(canary, new CloudWatchClient({ ...AWS_CLIENT_CONFIG }))
      : undefined,
  };
}

/** Storage, snapshots, the stage lock and pauses, the old side's service. */
function databasePorts(e: PhaseEnv) {
  const cluster = e.OLD_DB_IS_CLUSTER === 'true';
  const ddb = e.LOCK_TABLE_NAME ? new DynamoDBClient({ ...AWS_CLIENT_CONFIG }) : undefined;
  return {
    storage: new RdsFreeStorage(
      { old: { instanceId: e.OLD_DB_ID, isCluster: cluster }, new: { instanceId: e.NEW_DB_ID } },
      new CloudWatchClient({ ...AWS_CLIENT_CONFIG }),
    ),
    snapshots: new RdsSnapshotService({ cluster }, new RDSClient({ ...AWS_CLIENT_CONFIG })),
    lock: e.LOCK_TABLE_NAME && ddb ? new DynamoLockStore(e.LOCK_TABLE_NAME, ddb) : missingLockTable(),
    pauses: e.LOCK_TABLE_NAME && ddb ? new DynamoPauseStore(e.LOCK_TABLE_NAME, ddb) : undefined,
    oldDbId: e.OLD_DB_ID,
    oldService:
      e.OLD_SERVICE_ARN && e.OLD_CLUSTER_ARN
        ? new EcsServiceRestarter({ serviceArn: e.OLD_SERVICE_ARN, clusterArn: e.OLD_CLUSTER_ARN })
        : undefined,
  };
}

/** The sync task of `sync.runner: ecs`, when the function was given its settings. */
function syncTasks(e: PhaseEnv): EcsSyncTasks | undefined {
  const list = (v: string) => v.split(',').filter(Boolean);
  return e.SYNC_TASK_CLUSTER_ARN &&
    e.SYNC_TASK_DEFINITION_ARN &&
    e.SYNC_TASK_CONTAINER &&
    e.SYNC_TASK_SUBNETS &&
    e.SYNC_TASK_SECURITY_GROUPS
    ? new EcsSyncTasks({
        clusterArn: e.SYNC_TASK_CLUSTER_ARN,
        taskDefinitionArn: e.SYNC_TASK_DEFINITION_ARN,
        containerName: e.SYNC_TASK_CONTAINER,
        subnets: list(e.SYNC_TASK_SUBNETS),
        securityGroups: list(e.SYNC_TASK_SECURITY_GROUPS),
      })
    : undefined;
}

/** RestoreData: the old side's database secret now names the restored instance (the value changes only here). */
async function repointSecret(sm: SecretsManagerClient, arn: string, endpoint: { host: string; port: number }) {
  const cur = await call('secretsmanager:GetSecretValue', arn, () =>
    sm.send(new GetSecretValueCommand({ SecretId: arn })),
  );
  const value = { ...(JSON.parse(cur.SecretString ?? '{}') as object), host: endpoint.host, port: endpoint.port };
  await call('secretsmanager:PutSecretValue', arn, () =>
    sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) })),
  );
}

/** How Smoke reaches the old side, as the synthesized environment says (no lookups: an imported side was known at synth). */
export function smokeOldSide(oldBaseUrl: string | undefined, compareOld: 'true' | 'false'): OldSideAccess {
  if (oldBaseUrl) return { kind: 'direct', probe: new FetchHttpProbe(oldBaseUrl) };
  return compareOld === 'false'
    ? { kind: 'unreachable', reason: OLD_SIDE_IMPORTED_NOT_COMPARED }
    : { kind: 'listener' };
}

/** A function without LOCK_TABLE_NAME was not granted the lock table: any use is a deploy problem. */
function missingLockTable(): PhaseDeps['lock'] {
  const fail = async (): Promise<never> => {
    throw new ConfigurationError(
      'LOCK_TABLE_NAME is not set: this phase function was not granted the stage lock table (lib/constructs/migration-functions.ts)',
    );
  };
  return {
    acquire: fail,
    nextToken: fail,
    fence: fail,
    read: fail,
    renew: fail,
    release: fail,
    halt: fail,
    recordCompletion: fail,
    readCompletion: fail,
  };
}
