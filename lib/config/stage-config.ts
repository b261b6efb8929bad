import { z } from 'zod';
import { MAX_RESTORABLE_DB_ID_LENGTH } from '../../lambda/core/backup/snapshot';
import {
  BAKE_SECONDS,
  COPY_CONCURRENCY,
  DISTRIBUTED_COPY,
  INLINE_COPY,
  MAX_CATCH_UP_LAG_SECONDS,
  MAX_CATCH_UP_MINUTES,
  MIN_REQUESTS_PER_BAKE,
  DEFAULT_SPEC_NAME,
  STAGE_DEFAULTS,
  PAUSE_SECONDS,
  ROLLBACK,
  SYNC_TASK,
} from '../../lambda/core/limits';
import { pauseAtProblem } from '../../lambda/core/traffic/pause';
import { canaryPolicySchema, smokeConfigSchema } from '../../lambda/core/verify/config';

/**
 * Typed, validated configuration of one Switchyard stage (dev, staging, prod).
 *
 * This is the single source of truth for what a stage deploys. Every field is
 * validated at synth time; an invalid stage fails `cdk synth` with an error that
 * names the offending field (see {@link parseStageConfig}).
 */

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ARN = /^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/;
const SSM_PATH = /^(\/[A-Za-z0-9_.-]+)+$/;
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]+$/;
const DNS_NAME =
  /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.?$/;

const arn = (service: string) =>
  z
    .string()
    .regex(ARN, 'must be an ARN')
    .refine((v) => v.split(':')[2] === service, `must be a ${service} ARN`);

/** The configuration namespace of one environment: where its settings and secrets live. */
const namespaceSchema = {
  /** SSM Parameter Store path holding the environment's configuration, e.g. `/chat/old`. */
  parameterPath: z.string().regex(SSM_PATH, 'must be an SSM path like /app/old'),
  /** Secrets Manager name prefix of the environment's secrets, e.g. `chat/old`. */
  secretPrefix: z.string().regex(SECRET_PREFIX, 'must be a Secrets Manager name prefix like app/old'),
};

const databaseSchema = z.object({
  /** PostgreSQL major version. @default 16 */
  engineVersion: z.enum(['14', '15', '16', '17']).default('16'),
  /** RDS instance class, e.g. `t4g.micro`, `r6g.large`. */
  instanceClass: z
    .string()
    .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'must look like t4g.micro')
    .default('t4g.micro'),
  allocatedStorageGiB: z.number().int().min(20).max(65536).default(20),
  multiAz: z.boolean().default(false),
  /** Automated backup retention in days (1-35). */
  backupRetentionDays: z.number().int().min(1).max(35).default(7),
  /** Port the database listens on. A non-default port reduces drive-by scanning. @default 5432 */
  port: z.number().int().min(1150).max(65535).default(5432),
  databaseName: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL identifier')
    .default('app'),
});

const computeSchema = z.object({
  /** Container image of the service, e.g. `public.ecr.aws/nginx/nginx:stable` or an ECR URI. */
  image: z.string().min(1, 'must be a container image reference'),
  containerPort: z.number().int().min(1).max(65535).default(80),
  desiredCount: z.number().int().min(0).max(100).default(1),
  cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(256),
  memoryMiB: z.number().int().min(512).max(30720).default(512),
  healthCheckPath: z.string().startsWith('/', 'must start with /').default('/'),
});

const provisionedEnvironmentSchema = z.object({
  mode: z.literal('provisioned'),
  ...namespaceSchema,
  database: databaseSchema.default(databaseSchema.parse({})),
  compute: computeSchema,
});

const importedEnvironmentSchema = z.object({
  mode: z.literal('imported'),
  ...namespaceSchema,
  /** ARN of the existing ALB target group in front of the old service. */
  targetGroupArn: arn('elasticloadbalancing'),
  /** Identifier of the existing RDS instance, e.g. `chat-prod-db`. */
  dbInstanceIdentifier: z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'must be an RDS instance identifier')
    .max(
      MAX_RESTORABLE_DB_ID_LENGTH,
      `must be at most ${MAX_RESTORABLE_DB_ID_LENGTH} characters so a restored instance <id>-restored-<hash> fits RDS's 63`,
    ),
  /** Endpoint address of the existing RDS instance. */
  dbEndpointAddress: z.string().regex(DNS_NAME, 'must be a DNS name'),
  dbPort: z.number().int().min(1).max(65535).default(5432),
  /** Security group of the existing RDS instance (ingress for the migration functions is added to it). */
  dbSecurityGroupId: z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id like sg-0123abcd'),
  /** ARN of the existing Secrets Manager secret holding the database credentials (RDS secret JSON). */
  dbSecretArn: arn('secretsmanager'),
  /**
   * KMS key encrypting the existing database (and so its snapshots). RestoreData needs
   * kms:CreateGrant/DescribeKey on it to restore a snapshot encrypted with a customer-managed key.
   * @default - the AWS-managed aws/rds key (no grant needed)
   */
  dbKmsKeyArn: arn('kms').optional(),
  /**
   * The old service's ECS cluster and service ARNs: RestoreData restarts the service after repointing
   * its database secret. @default - none: RestoreData skips the restart and says so in its output
   */
  ecsClusterArn: arn('ecs').optional(),
  ecsServiceArn: arn('ecs').optional(),
});

const environmentSchema = z.discriminatedUnion('mode', [provisionedEnvironmentSchema, importedEnvironmentSchema], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'must be provisioned ({ mode: "provisioned", ... }) or fully imported ({ mode: "imported", ... })'
      : undefined,
});

const albRoutingSchema = z.object({
  /** Listener port. @default 443 with a certificate, else 80 */
  port: z.number().int().min(1).max(65535).optional(),
  /** ACM certificate ARN; when set the listener is HTTPS. */
  certificateArn: arn('acm').optional(),
  /** Stickiness duration in seconds; 0 disables it. Stickiness overrides weights, so keep it short. */
  stickinessSeconds: z.number().int().min(0).max(3600).default(0),
  /** CIDR allowed to reach the ALB. @default 0.0.0.0/0 */
  ingressCidr: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR')
    .default('0.0.0.0/0'),
});

const route53RoutingSchema = z.object({
  hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, 'must be a Route53 hosted zone id like Z0123456789ABC'),
  zoneName: z.string().regex(DNS_NAME, 'must be a DNS name'),
  /** Record name inside the zone, e.g. `api` for api.example.com. */
  recordName: z.string().min(1),
  ttlSeconds: z.number().int().min(5).max(3600).default(60),
  /** DNS name the `old` weighted record points at (the old side's load balancer). */
  oldTarget: z.string().regex(DNS_NAME, 'must be a DNS name'),
  /** DNS name the `new` weighted record points at. @default - the stage's ALB */
  newTarget: z.string().regex(DNS_NAME, 'must be a DNS name').optional(),
});

const weightSchedule = z
  .array(
    z
      .number()
      .int('must be whole percentages')
      .min(1, 'must be between 1 and 100')
      .max(100, 'must be between 1 and 100'),
  )
  .min(1, 'must have at least one step')
  .superRefine((steps, ctx) => {
    for (let i = 1; i < steps.length; i++) {
      if (steps[i] <= steps[i - 1]) {
        ctx.addIssue({ code: 'custom', message: `must be strictly increasing, got: ${steps.join(', ')}` });
        return;
      }
    }
    if (steps[steps.length - 1] !== 100) {
      ctx.addIssue({ code: 'custom', message: `must end at 100, got: ${steps.join(', ')}` });
    }
  });

/** How Migrate runs the chunk copy (docs/workflows.md, "Scaling option: Distributed Map"). */
const copySchema = z.object({
  /**
   * `inline`: one Map over groups of `tablesPerGroup` tables inside the Migrate execution, one group
   * at a time, its tables copied at once on `copyConcurrency` connection pairs (the local rehearsal
   * runs this). `distributed`: PlanCopy cuts every table's chunks into groups and a Step Functions
   * Distributed Map copies them, one child execution per group, `maxConcurrency` at once.
   * @default 'inline'
   */
  mode: z.enum(['inline', 'distributed'], { error: 'must be "inline" or "distributed"' }).default('inline'),
  /**
   * Distributed mode: child executions (copy Lambdas) at once. Each holds `copyConcurrency` connection
   * pairs, so `maxConcurrency × copyConcurrency` must fit the target's (and source's) max_connections.
   * @default 8
   */
  maxConcurrency: z
    .number()
    .int('must be a whole number')
    .min(DISTRIBUTED_COPY.maxConcurrency.min, `must be at least ${DISTRIBUTED_COPY.maxConcurrency.min}`)
    .max(
      DISTRIBUTED_COPY.maxConcurrency.max,
      `must be at most ${DISTRIBUTED_COPY.maxConcurrency.max} (the account's default Lambda concurrency)`,
    )
    .default(DISTRIBUTED_COPY.maxConcurrency.default),
  /**
   * Distributed mode: chunks (of the spec's `chunkSize` rows) per child execution. The planner makes
   * groups larger when the item list would exceed 1,000 items or 64 KiB.
   * @default 16
   */
  chunksPerItem: z
    .number()
    .int('must be a whole number')
    .min(DISTRIBUTED_COPY.chunksPerItem.min, `must be at least ${DISTRIBUTED_COPY.chunksPerItem.min}`)
    .max(DISTRIBUTED_COPY.chunksPerItem.max, `must be at most ${DISTRIBUTED_COPY.chunksPerItem.max}`)
    .default(DISTRIBUTED_COPY.chunksPerItem.default),
  /**
   * Inline mode: tables per CopyData call. The spec's tables are copied one group after another (spec
   * order), each group's tables at once on `copyConcurrency` connection pairs, small tables batched.
   * @default 500
   */
  tablesPerGroup: z
    .number()
    .int('must be a whole number')
    .min(INLINE_COPY.tablesPerGroup.min, `must be at least ${INLINE_COPY.tablesPerGroup.min}`)
    .max(
      INLINE_COPY.tablesPerGroup.max,
      `must be at most ${INLINE_COPY.tablesPerGroup.max} (table names per Lambda payload)`,
    )
    .default(INLINE_COPY.tablesPerGroup.default),
});

/** A bounded whole number of seconds with the "must be …" messages, from one limit of lambda/core/limits.ts. */
const seconds = (l: { min: number; max: number; default: number }) =>
  z
    .number()
    .int('must be whole seconds')
    .min(l.min, `must be at least ${l.min} seconds`)
    .max(l.max, `must be at most ${l.max} seconds`)
    .default(l.default);

/** The traffic rollback's drains of the new side's writes (lambda/core/limits.ts ROLLBACK, docs/workflows.md). */
const rollbackSchema = z.object({
  /** Before the weights move, drain the reverse backlog for at most this long (then move anyway). @default 60 */
  preDrainSeconds: seconds(ROLLBACK.preDrainSeconds),
  /** The longest request the service serves (part of the settle window after the weights moved). @default 30 */
  longestRequestSeconds: seconds(ROLLBACK.longestRequestSeconds),
  /** Keep the reverse slot until a window this long brings no new-side change. @default 120 */
  quietSeconds: seconds(ROLLBACK.quietSeconds),
});
export type RollbackConfig = z.infer<typeof rollbackSchema>;

/** Where Migrate runs the change sync (docs/data-engine.md, "Where it runs in AWS"). */
const syncSchema = z.object({
  /**
   * `lambda`: bounded runs, one Lambda invocation each, looped by the state machine. `ecs`: one
   * Fargate task in the new environment's network runs the continuous sync (same engine) from the
   * catch-up until the final drain; the workflow starts, observes and stops it.
   * @default 'lambda'
   */
  runner: z.enum(['lambda', 'ecs'], { error: 'must be "lambda" or "ecs"' }).default('lambda'),
  /** `ecs`: the task's vCPU units (a Fargate size). @default 1024 */
  cpu: z
    .number()
    .refine((n) => (SYNC_TASK.cpu.allowed as readonly number[]).includes(n), {
      message: `must be one of ${SYNC_TASK.cpu.allowed.join(', ')} (Fargate CPU units)`,
    })
    .default(SYNC_TASK.cpu.default),
  /** `ecs`: the task's memory (MiB; must fit the cpu, see the Fargate task sizes). @default 2048 */
  memoryMiB: z
    .number()
    .int('must be whole MiB')
    .min(SYNC_TASK.memoryMiB.min, `must be at least ${SYNC_TASK.memoryMiB.min} MiB`)
    .max(SYNC_TASK.memoryMiB.max, `must be at most ${SYNC_TASK.memoryMiB.max} MiB`)
    .default(SYNC_TASK.memoryMiB.default),
});
export type SyncConfig = z.output<typeof syncSchema>;
/** The sync a stage gets when its config says nothing: bounded Lambda runs. */
export const DEFAULT_SYNC: SyncConfig = syncSchema.parse({});

const migrationSchema = z.object({
  /** Percent of traffic on the new side after each step. @default [5, 25, 50, 100] */
  weightSchedule: weightSchedule.default([...STAGE_DEFAULTS.weightSchedule]),
  /** Seconds to wait at each step before the health gate is evaluated; at least one CloudWatch minute (lambda/core/limits.ts). */
  bakeSeconds: z
    .number()
    .int()
    .min(
      BAKE_SECONDS.min,
      `must be at least ${BAKE_SECONDS.min} seconds (one CloudWatch period, so the minimum-request alarm sees the step)`,
    )
    .max(BAKE_SECONDS.max, `must be at most ${BAKE_SECONDS.max} seconds`)
    .default(STAGE_DEFAULTS.bakeSeconds),
  /** Catch-up stops looping once lag is below this many seconds. */
  maxCatchUpLagSeconds: z
    .number()
    .int()
    .min(MAX_CATCH_UP_LAG_SECONDS.min)
    .max(MAX_CATCH_UP_LAG_SECONDS.max)
    .default(STAGE_DEFAULTS.maxCatchUpLagSeconds),
  /** The catch-up fails with SyncLagError (before any traffic moves, nothing lost) when the lag is not below `maxCatchUpLagSeconds` after this many minutes. */
  maxCatchUpMinutes: z
    .number()
    .int()
    .min(MAX_CATCH_UP_MINUTES.min, `must be at least ${MAX_CATCH_UP_MINUTES.min} minute`)
    .max(MAX_CATCH_UP_MINUTES.max, `must be at most ${MAX_CATCH_UP_MINUTES.max} minutes`)
    .default(MAX_CATCH_UP_MINUTES.default),
  /** Data-copy chunk concurrency; the copy and validate handlers accept the same range (lambda/core/limits.ts). */
  copyConcurrency: z
    .number()
    .int()
    .min(COPY_CONCURRENCY.min, `must be at least ${COPY_CONCURRENCY.min}`)
    .max(COPY_CONCURRENCY.max, `must be at most ${COPY_CONCURRENCY.max} (the limit the copy handler enforces)`)
    .default(STAGE_DEFAULTS.copyConcurrency),
  /** Name of the migration spec (lambda/engine/specs). @default DEFAULT_SPEC_NAME (lambda/core/limits.ts) */
  specName: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a lowercase spec name')
    .default(DEFAULT_SPEC_NAME),
  /** How the chunk copy runs. @default inline */
  copy: copySchema.default(copySchema.parse({})),
  /**
   * TLS of the migration's database connections. `verify-full` checks the server certificate (the
   * Amazon RDS CA bundle ships with the functions) and host name; `require` encrypts without
   * verifying, for a database whose certificate no bundled CA signed. @default verify-full
   */
  databaseTls: z
    .enum(['verify-full', 'require'], { error: 'must be "verify-full" or "require"' })
    .default('verify-full'),
  /** The traffic rollback's drains: before the weights move, the settle window, the quiet period. */
  rollback: rollbackSchema.default(rollbackSchema.parse({})),
  /**
   * Steps (weights of `weightSchedule`) at which Migrate holds after the step's health gate passed,
   * until `switchyard resume` or `abort` (docs/workflows.md, "Pause, resume, abort"). @default [] (never)
   */
  pauseAt: z.array(z.number({ error: 'must be whole percentages' })).default([]),
  /** The longest a pause holds; then the traffic rolls back to 100 % old. @default 14400 (4 hours) */
  maxPauseSeconds: seconds(PAUSE_SECONDS),
});

/** `migration` with the rule ValidateInput applies to an execution's own pauseAt (lambda/core/traffic/pause.ts). */
const migrationConfigSchema = migrationSchema.superRefine((m, ctx) => {
  const problem = pauseAtProblem(m.pauseAt, m.weightSchedule);
  if (problem) ctx.addIssue({ code: 'custom', path: ['pauseAt'], message: problem });
});

const backupSchema = z.object({
  /** Create an AWS Backup plan for both databases. */
  plan: z
    .object({
      /** Cron expression (6 fields, UTC) for the scheduled backup. */
      scheduleExpression: z
        .string()
        .regex(/^cron\(.+\)$/, 'must be a cron(...) expression')
        .default('cron(0 3 * * ? *)'),
      deleteAfterDays: z.number().int().min(1).max(36500).default(35),
    })
    .optional(),
});

const alarmsSchema = z.object({
  /** 5xx responses of the new target group per minute that trip the health gate. */
  new5xxPerMinute: z.number().int().min(1).default(5),
  /** p99 target response time of the new side (seconds) that trips the health gate. */
  newP99LatencySeconds: z.number().positive().default(2),
  /**
   * Requests the new side must serve during one bake for the step to pass (a dead or unrouted
   * side serves none). Keep it below what the first step's share of traffic brings in one bake.
   */
  newMinRequestsPerBake: z
    .number()
    .int()
    .min(MIN_REQUESTS_PER_BAKE.min, `must be at least ${MIN_REQUESTS_PER_BAKE.min}`)
    .max(MIN_REQUESTS_PER_BAKE.max)
    .default(1),
  /** Email address subscribed to migration notifications. @default - none */
  notificationEmail: z.string().email('must be an email address').optional(),
});

/** A base URL of smoke requests: http(s), host (and port), optional path, no credentials. */
const smokeUrl = (example: string) =>
  z.string().regex(/^https?:\/\/[^/@\s]+(\/[^\s]*)?$/, `must be an http(s) URL without credentials, like ${example}`);

/**
 * Service verification (docs/service-verification.md): the Smoke phase's HTTP checks before any
 * traffic moves, and the canary tolerances the health gate holds the new side to against the old.
 * The schemas are the handlers' own (lambda/core/verify/config.ts).
 */
const verificationSchema = z.object({
  /** @default one GET / on both sides, answers compared */
  smoke: smokeConfigSchema.default(smokeConfigSchema.parse({ checks: [{ name: 'root', path: '/' }] })),
  /** @default p99 ≤ old × 1.10 + 5 ms, error rate ≤ old + 0.1 pp, 50 requests per side */
  canary: canaryPolicySchema.default(canaryPolicySchema.parse({})),
  /** Where smoke requests go; set it when the listener has a certificate for a domain. @default - the stage ALB's DNS name and listener port */
  smokeBaseUrl: smokeUrl('https://api.example.com').optional(),
  /**
   * Where the old side answers directly (its own load balancer or domain, reaching the old side
   * only): Smoke sends its old-side requests there, without the side header. Needed to compare
   * answers when the old side is imported (the stage listener cannot reach it).
   * @default - the stage listener with `x-switchyard-side: old` (provisioned old side); for an imported old side none: read checks are not compared (reported)
   */
  oldBaseUrl: smokeUrl('https://old-api.example.com').optional(),
  /**
   * ARN of the imported old side's load balancer (its metrics' LoadBalancer dimension).
   * @default - none: with an imported old side the canary is skipped and reported
   */
  oldLoadBalancerArn: arn('elasticloadbalancing').optional(),
});

/** The `verification.smoke` field's name, for issue paths (taken from the schema: the phase's name is written in lambda/phases.ts only). */
const SMOKE_FIELD = verificationSchema.keyof().enum.smoke;

/** The verification a stage gets when its config says nothing. */
export const DEFAULT_VERIFICATION = verificationSchema.parse({});

export const stageConfigSchema = z
  .object({
    stageName: z.string().regex(/^[a-z][a-z0-9-]{1,20}$/, 'must be lowercase letters, digits and dashes'),
    /** AWS account; omit for an environment-agnostic stage. */
    account: z.string().regex(ACCOUNT, 'must be a 12-digit AWS account id').optional(),
    region: z.string().regex(REGION, 'must be an AWS region like eu-west-1').optional(),
    /** Protect data: RDS deletion protection, snapshot on delete, retained keys and secrets. Off only for throwaway stages. */
    protectData: z.boolean().default(true),
    /** Promotion into this stage needs a manual approval in the pipeline. */
    requireApproval: z.boolean().default(false),
    network: z
      .object({
        cidr: z
          .string()
          .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR')
          .default('10.40.0.0/16'),
        maxAzs: z.number().int().min(2).max(3).default(2),
        natGateways: z.number().int().min(0).max(3).default(1),
      })
      .default({ cidr: '10.40.0.0/16', maxAzs: 2, natGateways: 1 }),
    oldEnvironment: environmentSchema,
    newEnvironment: provisionedEnvironmentSchema,
    routing: z
      .object({
        /** The stage's ALB listener. It forwards to both target groups with weights when the old side is provisioned here. */
        alb: albRoutingSchema.default(albRoutingSchema.parse({})),
        /** A Route53 weighted record pair (old/new) for cross-ALB or cross-region moves. @default - none */
        route53: route53RoutingSchema.optional(),
      })
      .default({ alb: albRoutingSchema.parse({}) }),
    backup: backupSchema.default({}),
    migration: migrationConfigSchema.default(migrationSchema.parse({})),
    sync: syncSchema.default(DEFAULT_SYNC),
    alarms: alarmsSchema.default(alarmsSchema.parse({})),
    verification: verificationSchema.default(verificationSchema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.oldEnvironment.parameterPath === cfg.newEnvironment.parameterPath) {
      ctx.addIssue({
        code: 'custom',
        path: ['newEnvironment', 'parameterPath'],
        message: `must differ from oldEnvironment.parameterPath, got: ${cfg.newEnvironment.parameterPath}`,
      });
    }
    if (cfg.oldEnvironment.secretPrefix === cfg.newEnvironment.secretPrefix) {
      ctx.addIssue({
        code: 'custom',
        path: ['newEnvironment', 'secretPrefix'],
        message: `must differ from oldEnvironment.secretPrefix, got: ${cfg.newEnvironment.secretPrefix}`,
      });
    }
    const v = cfg.verification;
    const trimmed = (u: string) => u.replace(/\/+$/, '').toLowerCase();
    if (v.oldBaseUrl && v.smokeBaseUrl && trimmed(v.oldBaseUrl) === trimmed(v.smokeBaseUrl)) {
      ctx.addIssue({
        code: 'custom',
        path: ['verification', 'oldBaseUrl'],
        message: `must differ from verification.smokeBaseUrl (the new side would be compared with itself), got: ${v.oldBaseUrl}`,
      });
    }
    if (cfg.oldEnvironment.mode === 'imported' && !v.oldBaseUrl) {
      // The stage listener answers 503 for an imported side: read checks run on the new side only (reported),
      // but a check that asks for the comparison explicitly cannot get it.
      v.smoke.checks.forEach((c, i) => {
        if (c.compare === true) {
          ctx.addIssue({
            code: 'custom',
            path: ['verification', SMOKE_FIELD, 'checks', i, 'compare'],
            message:
              `must not be true for check "${c.name}" while the old side is imported without ` +
              `verification.oldBaseUrl (the stage listener cannot reach it): set verification.oldBaseUrl to the ` +
              `old side's own URL to compare answers, or remove compare`,
          });
        }
      });
    }
    if (cfg.oldEnvironment.mode === 'imported' && !cfg.routing.route53) {
      // An ALB target group can belong to one load balancer only; an imported old side keeps its own ALB.
      ctx.addIssue({
        code: 'custom',
        path: ['routing', 'route53'],
        message: 'must be configured when oldEnvironment is imported (its target group stays on its own load balancer)',
      });
    }
  });

export type StageConfigInput = z.input<typeof stageConfigSchema>;
export type StageConfig = z.output<typeof stageConfigSchema>;
export type EnvironmentConfig = StageConfig['oldEnvironment'];
export type ProvisionedEnvironmentConfig = z.output<typeof provisionedEnvironmentSchema>;
export type ImportedEnvironmentConfig = z.output<typeof importedEnvironmentSchema>;
export type AlbRoutingConfig = z.output<typeof albRoutingSchema>;
export type Route53RoutingConfig = z.output<typeof route53RoutingSchema>;
export type VerificationConfig = z.output<typeof verificationSchema>;
export type CopyConfig = z.output<typeof copySchema>;

/** The chunk copy a stage gets when its config says nothing: inline. */
export const DEFAULT_COPY: CopyConfig = copySchema.parse({});

/** Raised when a stage configuration is invalid; the message names every bad field. */
export class StageConfigError extends Error {
  public readonly name = 'StageConfigError';
  constructor(
    public readonly stage: string,
    public readonly problems: readonly string[],
  ) {
    super(`Invalid configuration for stage "${stage}":\n  - ${problems.join('\n  - ')}`);
  }
}

/** Parse and validate a stage configuration, or throw a {@link StageConfigError} naming every bad field. */
export function parseStageConfig(input: unknown, stageHint = 'unknown'): StageConfig {
  const result = stageConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const stage =
    typeof input === 'object' && input !== null && typeof (input as { stageName?: unknown }).stageName === 'string'
      ? (input as { stageName: string }).stageName
      : stageHint;
  const problems = result.error.issues.map((i) => {
    const field = i.path.length ? i.path.join('.') : '(stage)';
    const got = describeReceived(input, i.path as (string | number)[]);
    return `${field} ${i.message}${got && !i.message.includes('got:') ? `, got: ${got}` : ''}`;
  });
  throw new StageConfigError(stage, problems);
}

function describeReceived(input: unknown, path: (string | number)[]): string | undefined {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  if (cur === undefined) return 'nothing';
  if (typeof cur === 'object') return undefined;
  return JSON.stringify(cur);
}
