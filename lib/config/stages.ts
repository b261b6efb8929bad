import * as fs from 'node:fs';
import { parseStageConfig, type StageConfig, type StageConfigInput } from './stage-config';

/**
 * The stages Switchyard deploys, in promotion order. No account ids live here:
 * `account` and `region` come from context (`-c prod:account=111111111111 -c prod:region=eu-west-1`)
 * or from an override file (`-c switchyard:configFile=./my-stages.json`).
 */
export const STAGE_NAMES = ['dev', 'staging', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

const SAMPLE_IMAGE = 'public.ecr.aws/nginx/nginx:stable';

const defaults: Record<StageName, StageConfigInput> = {
  dev: {
    stageName: 'dev',
    protectData: false,
    network: { cidr: '10.40.0.0/16', maxAzs: 2, natGateways: 1 },
    oldEnvironment: {
      mode: 'provisioned',
      parameterPath: '/chat/dev/old',
      secretPrefix: 'chat/dev/old',
      compute: { image: SAMPLE_IMAGE },
    },
    newEnvironment: {
      mode: 'provisioned',
      parameterPath: '/chat/dev/new',
      secretPrefix: 'chat/dev/new',
      compute: { image: SAMPLE_IMAGE },
    },
    migration: { bakeSeconds: 60 },
  },
  staging: {
    stageName: 'staging',
    network: { cidr: '10.41.0.0/16', maxAzs: 2, natGateways: 1 },
    oldEnvironment: {
      mode: 'provisioned',
      parameterPath: '/chat/staging/old',
      secretPrefix: 'chat/staging/old',
      compute: { image: SAMPLE_IMAGE },
    },
    newEnvironment: {
      mode: 'provisioned',
      parameterPath: '/chat/staging/new',
      secretPrefix: 'chat/staging/new',
      compute: { image: SAMPLE_IMAGE },
    },
    backup: { plan: {} },
  },
  prod: {
    stageName: 'prod',
    requireApproval: true,
    network: { cidr: '10.42.0.0/16', maxAzs: 3, natGateways: 2 },
    oldEnvironment: {
      mode: 'provisioned',
      parameterPath: '/chat/prod/old',
      secretPrefix: 'chat/prod/old',
      database: { multiAz: true, instanceClass: 'm7g.large', allocatedStorageGiB: 100, backupRetentionDays: 14 },
      compute: { image: SAMPLE_IMAGE, desiredCount: 2 },
    },
    newEnvironment: {
      mode: 'provisioned',
      parameterPath: '/chat/prod/new',
      secretPrefix: 'chat/prod/new',
      database: { multiAz: true, instanceClass: 'm7g.large', allocatedStorageGiB: 100, backupRetentionDays: 14 },
      compute: { image: SAMPLE_IMAGE, desiredCount: 2 },
    },
    backup: { plan: { deleteAfterDays: 35 } },
  },
};

/** Reads context values; a tiny port so tests can pass a plain map. */
export type ContextReader = (key: string) => unknown;

/**
 * The built-in defaults for a stage merged with the overrides from context:
 * an optional JSON file (`switchyard:configFile`, an object keyed by stage name)
 * then `<stage>:account` / `<stage>:region`. Validated; throws StageConfigError.
 */
export function loadStageConfig(stage: StageName, context: ContextReader = () => undefined): StageConfig {
  let input: Record<string, unknown> = structuredClone(defaults[stage]) as Record<string, unknown>;
  const file = context('switchyard:configFile');
  if (typeof file === 'string' && file.length > 0) {
    const overrides = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (overrides[stage] !== undefined) input = deepMerge(input, overrides[stage] as Record<string, unknown>);
  }
  for (const key of ['account', 'region'] as const) {
    const v = context(`${stage}:${key}`);
    if (v !== undefined) input[key] = String(v);
  }
  return parseStageConfig(input, stage);
}

/** Stages selected with `-c stages=dev,staging` (default: all). Unknown names are an error. */
export function selectedStages(context: ContextReader): StageName[] {
  const raw = context('stages');
  if (raw === undefined || raw === '') return [...STAGE_NAMES];
  const names = String(raw)
    .split(',')
    .map((s) => s.trim());
  for (const n of names) {
    if (!(STAGE_NAMES as readonly string[]).includes(n)) {
      throw new Error(`context "stages" must list stages from ${STAGE_NAMES.join(', ')}, got: ${n}`);
    }
  }
  return names as StageName[];
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const bothObjects =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b);
    // Switching an environment's mode replaces it whole: fields of the other mode do not leak in.
    const modeSwitch =
      bothObjects && 'mode' in (v as object) && (v as { mode: unknown }).mode !== (b as { mode?: unknown }).mode;
    out[k] = bothObjects && !modeSwitch ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
