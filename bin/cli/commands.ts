import * as fs from 'fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { loadStageConfig, STAGE_NAMES, StageName } from '../../lib/config/stages';
import type { ConfigStore } from '../../lambda/core/config/ports';
import { environmentTransferRules, planTransfer } from '../../lambda/core/config/transfer';
import { getSpec } from '../../lambda/engine/specs';
import { stateMachineArns, mapCliAwsError, MachineName } from './aws';
import { MigrationAlreadyRunningError, UsageError } from './errors';
import { follow } from './follow';

export interface CliDeps {
  readonly sfn: SFNClient;
  readonly cfn: CloudFormationClient;
  /** Config stores of the stage (SSM, Secrets Manager) for `plan`; omitted with --offline. */
  readonly configStores?: readonly ConfigStore[];
  readonly print: (line: string) => void;
  readonly readFile?: (file: string) => string;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ParsedArgs {
  readonly command: string;
  readonly flags: Readonly<Record<string, string | true>>;
}

export const USAGE = `usage: npm run switchyard -- <command> --stage <${STAGE_NAMES.join('|')}> [options]
  plan      --stage S [--offline]                       what a migration would do (changes nothing)
  start     --stage S [--input file] [--migration-id ID] [--dry-run] [--no-follow]
  status    --stage S                                   recent executions of every workflow
  rollback  --stage S --migration-id ID                 traffic back to 100 % old (RollbackTraffic)
  restore   --stage S --migration-id ID --snapshot-id SNAP [--applied file]   data rollback (RestoreData)`;

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (!command || command.startsWith('-')) throw new UsageError(`a command is required\n${USAGE}`);
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument: ${a}\n${USAGE}`);
    const next = rest[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags[a.slice(2)] = next;
      i++;
    } else flags[a.slice(2)] = true;
  }
  return { command, flags };
}

function stageOf(flags: ParsedArgs['flags']): StageName {
  const s = flags.stage;
  if (typeof s !== 'string' || !(STAGE_NAMES as readonly string[]).includes(s)) throw new UsageError(`--stage must be one of ${STAGE_NAMES.join(', ')}, got: ${String(s ?? 'nothing')}`);
  return s as StageName;
}

function required(flags: ParsedArgs['flags'], name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required`);
  return v;
}

async function send<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    return mapCliAwsError(e);
  }
}

async function startAndFollow(deps: CliDeps, arn: string, name: string, input: Record<string, unknown>, followIt: boolean) {
  let executionArn: string;
  try {
    executionArn = (await deps.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }))).executionArn!;
  } catch (e) {
    if ((e as { name?: string }).name === 'ExecutionAlreadyExists') {
      throw new MigrationAlreadyRunningError(`an execution named ${name} already exists for this workflow: follow it with \`status\`, or use a new migration id`);
    }
    return mapCliAwsError(e);
  }
  deps.print(`started ${executionArn}`);
  if (!followIt) return { executionArn, status: 'RUNNING' };
  const r = await follow(deps.sfn, executionArn, { print: deps.print, pollMs: deps.pollMs, sleep: deps.sleep });
  return { executionArn, ...r };
}

/** Run one CLI command. Returns a value for tests; prints through deps.print. */
export async function runCommand(args: ParsedArgs, deps: CliDeps): Promise<unknown> {
  const { command, flags } = args;
  if (command === 'plan') return plan(stageOf(flags), deps, flags.offline === true);
  const stage = stageOf(flags);
  const arns = await stateMachineArns(deps.cfn, stage);
  switch (command) {
    case 'start': {
      const file = flags.input;
      const input: Record<string, unknown> = typeof file === 'string' ? (JSON.parse((deps.readFile ?? ((f) => fs.readFileSync(f, 'utf8')))(file)) as Record<string, unknown>) : {};
      if (typeof flags['migration-id'] === 'string') input.migrationId = flags['migration-id'];
      if (flags['dry-run'] === true) input.dryRun = true;
      if (typeof input.migrationId !== 'string') throw new UsageError('a migration id is required: --migration-id ID or "migrationId" in the --input file');
      const running = await send(() => deps.sfn.send(new ListExecutionsCommand({ stateMachineArn: arns.Migrate, statusFilter: 'RUNNING', maxResults: 10 })));
      const other = running.executions?.find((x) => x.name !== input.migrationId);
      if (other) throw new MigrationAlreadyRunningError(`migration ${other.name} is already running on ${stage} (only one at a time): wait for it, or roll it back with \`rollback --stage ${stage} --migration-id ${other.name}\``);
      return startAndFollow(deps, arns.Migrate, String(input.migrationId), input, flags['no-follow'] !== true);
    }
    case 'status': {
      const out: Record<string, unknown[]> = {};
      for (const [name, arn] of Object.entries(arns) as [MachineName, string][]) {
        const r = await send(() => deps.sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults: 5 })));
        out[name] = r.executions ?? [];
        deps.print(`${name}:`);
        for (const e of r.executions ?? []) deps.print(`  ${e.name}  ${e.status}  started ${e.startDate?.toISOString?.() ?? e.startDate}`);
        if (!r.executions?.length) deps.print('  (no executions)');
      }
      return out;
    }
    case 'rollback':
      return startAndFollow(deps, arns.RollbackTraffic, `${required(flags, 'migration-id')}-rollback-${Date.now()}`, { migrationId: required(flags, 'migration-id') }, flags['no-follow'] !== true);
    case 'restore': {
      const applied = typeof flags.applied === 'string' ? JSON.parse((deps.readFile ?? ((f) => fs.readFileSync(f, 'utf8')))(flags.applied)) : undefined;
      const input = { migrationId: required(flags, 'migration-id'), snapshotId: required(flags, 'snapshot-id'), ...(applied ? { applied } : {}) };
      return startAndFollow(deps, arns.RestoreData, `${input.migrationId}-restore-${Date.now()}`, input, flags['no-follow'] !== true);
    }
    default:
      throw new UsageError(`unknown command: ${command}\n${USAGE}`);
  }
}

/**
 * What a migration of this stage would do: tables, schedule and timing from the stage config and
 * spec; with AWS access, every config change by name (create/update/unchanged, never values),
 * computed by the same planTransfer the TransferConfig phase runs. Changes nothing.
 */
async function plan(stage: StageName, deps: CliDeps, offline: boolean) {
  const cfg = loadStageConfig(stage);
  const spec = getSpec(cfg.migration.specName);
  const steps = cfg.migration.weightSchedule;
  const bakeTotal = steps.length * cfg.migration.bakeSeconds;
  const p = {
    stage,
    spec: spec.name,
    tables: spec.tables.map((t) => ({ name: t.name, source: 'table' in t.source ? t.source.table : '(query)', target: t.target.table, chunkSize: t.chunkSize, catchUp: Boolean(t.watermark) })),
    config: {
      parameters: `${cfg.oldEnvironment.parameterPath}/* -> ${cfg.newEnvironment.parameterPath}/* (db/host, db/port, db/name rendered for the new database)`,
      secrets: `${cfg.oldEnvironment.secretPrefix}/* -> ${cfg.newEnvironment.secretPrefix}/* (except the db credentials secret)`,
    },
    schedule: steps,
    bakeSeconds: cfg.migration.bakeSeconds,
    estimatedTrafficMinutes: Math.ceil(bakeTotal / 60),
    routing: cfg.oldEnvironment.mode === 'imported' ? 'Route53 weighted records' : 'ALB weighted rule',
  };
  deps.print(`Migration plan for ${stage} (spec ${spec.name}); nothing is changed by this command.`);
  for (const t of p.tables) deps.print(`  copy ${t.source} -> ${t.target} in chunks of ${t.chunkSize}${t.catchUp ? ', with catch-up' : ''}`);
  deps.print(`  config: ${p.config.parameters}`);
  deps.print(`          ${p.config.secrets}`);
  deps.print(`  traffic (${p.routing}): ${steps.join(' -> ')} %, ${p.bakeSeconds} s bake per step: at least ${p.estimatedTrafficMinutes} min after the data is in sync`);
  deps.print('  row counts: from the Preflight of a gate dry run (`start --dry-run`): the databases are private to the VPC');
  if (offline || !deps.configStores) return p;
  const rules = environmentTransferRules(cfg.oldEnvironment, cfg.newEnvironment);
  // The new side's coordinates come from its own SSM parameters (created by its stack), not from its secret.
  const ssm = deps.configStores.find((c) => c.kind === 'parameter');
  const coord = async (k: string) => (await send(() => ssm!.get(`${cfg.newEnvironment.parameterPath}/db/${k}`)))?.value ?? `<${k} of the new database>`;
  const context = { 'target.db.host': await coord('host'), 'target.db.port': await coord('port'), 'target.db.name': await coord('name') };
  const changes = await send(() => planTransfer(deps.configStores!, rules, context));
  deps.print(`  config changes (${changes.length}):`);
  for (const c of changes) deps.print(`    ${c.action.padEnd(9)} ${c.kind.padEnd(9)} ${c.target}`);
  return { ...p, configChanges: changes };
}
