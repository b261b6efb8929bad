import * as fs from 'node:fs';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { loadStageConfig, type StageName } from '../../lib/config/stages';
import type { ConfigStore } from '../../lambda/core/config/ports';
import { environmentTransferRules, planTransfer } from '../../lambda/core/config/transfer';
import { getSpec } from '../../lambda/engine/specs';
import type { TableSpec } from '../../lambda/engine/spec';
import { reverseMapping } from '../../lambda/engine/sync';
import { stateMachineArns, mapCliAwsError, type MachineName } from './aws';
import { MigrationAlreadyRunningError, UsageError } from './errors';
import { follow } from './follow';

/** What the AWS-facing commands run against (real SDK clients in bin/switchyard.ts, mocks in tests). */
export interface CliDeps {
  readonly sfn: SFNClient;
  readonly cfn: CloudFormationClient;
  /** The stage lock table's client (`resume`, `abort`). */
  readonly ddb?: DynamoDBClient;
  /** Config stores of the stage (SSM, Secrets Manager) for `plan --live`. */
  readonly configStores?: readonly ConfigStore[];
  readonly print: (line: string) => void;
  readonly readFile?: (file: string) => string;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Aborted on Ctrl-C: following stops (the execution keeps running). */
  readonly signal?: AbortSignal;
}

export interface StartOptions {
  readonly stage: StageName;
  readonly input?: string;
  readonly migrationId?: string;
  readonly dryRun?: boolean;
  readonly follow?: boolean;
}
export interface RollbackOptions {
  readonly stage: StageName;
  readonly migrationId: string;
  readonly follow?: boolean;
}
export interface RestoreOptions extends RollbackOptions {
  readonly snapshotId: string;
  readonly applied?: string;
}
export interface PlanOptions {
  readonly stage: StageName;
  /** Read the stage's SSM parameters and secrets (names only) to list each config change. */
  readonly live?: boolean;
}

async function send<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    return mapCliAwsError(e);
  }
}

/** A JSON file the user named with a flag; a missing or malformed file is a usage error saying which. */
function readJsonFile(deps: CliDeps, flag: string, file: string, example: string): unknown {
  let text: string;
  try {
    text = (deps.readFile ?? ((f) => fs.readFileSync(f, 'utf8')))(file);
  } catch (e) {
    throw new UsageError(
      `cannot read ${flag} ${file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}): pass the path of a JSON file, e.g. ${example}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} ${file} is not valid JSON: fix the file (example: ${example})`);
  }
}

async function startAndFollow(
  deps: CliDeps,
  arn: string,
  name: string,
  input: Record<string, unknown>,
  followIt: boolean,
  stage: StageName,
) {
  let executionArn: string;
  try {
    executionArn = (
      await deps.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }))
    ).executionArn!;
  } catch (e) {
    if ((e as { name?: string }).name === 'ExecutionAlreadyExists') {
      throw new MigrationAlreadyRunningError(
        `an execution named ${name} already exists for this workflow: follow it with \`status --stage ${stage}\`, or use a new migration id`,
      );
    }
    return mapCliAwsError(e);
  }
  deps.print(`started ${executionArn}`);
  if (!followIt) return { executionArn, status: 'RUNNING' };
  const r = await send(() =>
    follow(deps.sfn, executionArn, {
      print: deps.print,
      pollMs: deps.pollMs,
      sleep: deps.sleep,
      signal: deps.signal,
      stage,
    }),
  );
  return { executionArn, ...r };
}

/** Start Migrate (execution name = migration id) unless another migration runs on the stage; follow it by default. */
export async function startCommand(o: StartOptions, deps: CliDeps) {
  const input: Record<string, unknown> = {};
  if (o.input) {
    const parsed = readJsonFile(deps, '--input', o.input, 'docs/examples/migrate-input.json');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new UsageError(`--input ${o.input} must hold a JSON object like {"migrationId": "chat-2026-11-24"}`);
    Object.assign(input, parsed);
  }
  if (o.migrationId) input.migrationId = o.migrationId;
  if (o.dryRun) input.dryRun = true;
  if (typeof input.migrationId !== 'string' || !input.migrationId)
    throw new UsageError('a migration id is required: --migration-id ID or "migrationId" in the --input file');
  const arns = await stateMachineArns(deps.cfn, o.stage);
  const running = await send(() =>
    deps.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arns.Migrate, statusFilter: 'RUNNING', maxResults: 10 }),
    ),
  );
  const other = running.executions?.find((x) => x.name !== input.migrationId);
  if (other)
    throw new MigrationAlreadyRunningError(
      `migration ${other.name} is already running on ${o.stage} (only one at a time): wait for it, or roll it ` +
        `back with \`rollback --stage ${o.stage} --migration-id ${other.name}\``,
    );
  return startAndFollow(deps, arns.Migrate, String(input.migrationId), input, o.follow !== false, o.stage);
}

/** The last executions of every workflow of the stage. */
export async function statusCommand(o: { stage: StageName }, deps: CliDeps) {
  const arns = await stateMachineArns(deps.cfn, o.stage);
  const out: Record<string, unknown[]> = {};
  for (const [name, arn] of Object.entries(arns) as [MachineName, string][]) {
    const r = await send(() => deps.sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults: 5 })));
    out[name] = r.executions ?? [];
    deps.print(`${name}:`);
    for (const e of r.executions ?? [])
      deps.print(`  ${e.name}  ${e.status}  started ${e.startDate?.toISOString?.() ?? e.startDate}`);
    if (!r.executions?.length) deps.print('  (no executions)');
  }
  return out;
}

/** RollbackTraffic: weights back to 100 % old. */
export async function rollbackCommand(o: RollbackOptions, deps: CliDeps) {
  const arns = await stateMachineArns(deps.cfn, o.stage);
  return startAndFollow(
    deps,
    arns.RollbackTraffic,
    `${o.migrationId}-rollback-${Date.now()}`,
    { migrationId: o.migrationId },
    o.follow !== false,
    o.stage,
  );
}

/** RestoreData: the old database from the pre-migration snapshot, config back to the recorded versions. */
export async function restoreCommand(o: RestoreOptions, deps: CliDeps) {
  const applied = o.applied
    ? readJsonFile(deps, '--applied', o.applied, 'the "applied" list of the TransferConfig output')
    : undefined;
  if (applied !== undefined && !Array.isArray(applied))
    throw new UsageError(`--applied ${o.applied} must hold the JSON list TransferConfig returned as "applied"`);
  const arns = await stateMachineArns(deps.cfn, o.stage);
  const input = { migrationId: o.migrationId, snapshotId: o.snapshotId, ...(applied ? { applied } : {}) };
  return startAndFollow(
    deps,
    arns.RestoreData,
    `${o.migrationId}-restore-${Date.now()}`,
    input,
    o.follow !== false,
    o.stage,
  );
}

/**
 * What a migration of this stage would do: tables, schedule and timing from the stage config and
 * spec, without any AWS call. With `live`, also every config change by name (create/update/
 * unchanged, never values), computed by the same planTransfer the TransferConfig phase runs.
 * Changes nothing either way.
 */
/** What a rollback does with the new side's writes to one table (the reverse sync's mapping). */
function rollbackCost(t: TableSpec): string {
  if (!('table' in t.source))
    return 'a query source: no change capture either way (Preflight refuses it for a live migration)';
  if (t.forwardOnly)
    return 'forward-only: new-side writes to it are NOT returned on a rollback (only a data restore goes back)';
  try {
    const m = reverseMapping(t)!;
    return (
      `${t.reverse ? "the spec's reverse mapping" : 'a derived reverse mapping'} returns new-side writes on a ` +
      `rollback (old columns ${Object.keys(m).join(', ')}; PrepareTarget names the ones that do not survive the ` +
      `round trip)`
    );
  } catch (e) {
    return `no usable reverse mapping: ${(e as Error).message}`;
  }
}

export async function planCommand(o: PlanOptions, deps: Pick<CliDeps, 'print' | 'configStores'>) {
  const { stage } = o;
  const cfg = loadStageConfig(stage);
  const spec = getSpec(cfg.migration.specName);
  const steps = cfg.migration.weightSchedule;
  const bakeTotal = steps.length * cfg.migration.bakeSeconds;
  const p = {
    stage,
    spec: spec.name,
    tables: spec.tables.map((t) => ({
      name: t.name,
      source: 'table' in t.source ? t.source.table : '(query)',
      target: t.target.table,
      chunkSize: t.chunkSize,
      sync: 'table' in t.source,
      rollback: rollbackCost(t),
    })),
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
  for (const t of p.tables)
    deps.print(
      `  copy ${t.source} -> ${t.target} in chunks of ` +
        `${t.chunkSize ?? '~16 MiB (rows from the table size)'}` +
        `${
          t.sync
            ? ', then kept current by change capture'
            : ' (a query source: change capture needs a source table, so Preflight refuses this table for a live migration)'
        }`,
    );
  for (const t of p.tables) deps.print(`  rollback of ${t.name}: ${t.rollback}`);
  const copy = cfg.migration.copy;
  deps.print(
    copy.mode === 'distributed'
      ? `  copy: distributed (Step Functions Distributed Map): up to ${copy.maxConcurrency} copy functions at ` +
          `once, ${cfg.migration.copyConcurrency} chunk streams each, ${copy.chunksPerItem} chunks per item: up to ` +
          `${copy.maxConcurrency * cfg.migration.copyConcurrency} connections to each database (must fit ` +
          `max_connections beside the service; Preflight checks it)`
      : `  copy: inline, one table at a time, ${cfg.migration.copyConcurrency} chunk streams in parallel; secondary indexes built after the load`,
  );
  deps.print(`  config: ${p.config.parameters}`);
  deps.print(`          ${p.config.secrets}`);
  deps.print(
    `  traffic (${p.routing}): ${steps.join(' -> ')} %, ${p.bakeSeconds} s bake per step: at least ${p.estimatedTrafficMinutes} min after the data is in sync`,
  );
  deps.print(
    '  row counts: from the Preflight of a gate dry run (`start --dry-run`): the databases are private to the VPC',
  );
  if (!o.live || !deps.configStores) {
    deps.print(
      `  config changes by name: \`plan --stage ${stage} --live\` reads them from SSM and Secrets Manager (names only)`,
    );
    return p;
  }
  const rules = environmentTransferRules(cfg.oldEnvironment, cfg.newEnvironment);
  // The new side's coordinates come from its own SSM parameters (created by its stack), not from its secret.
  const ssm = deps.configStores.find((c) => c.kind === 'parameter');
  const coord = async (k: string) =>
    (ssm ? (await send(() => ssm.get(`${cfg.newEnvironment.parameterPath}/db/${k}`)))?.value : undefined) ??
    `<${k} of the new database>`;
  const context = {
    'target.db.host': await coord('host'),
    'target.db.port': await coord('port'),
    'target.db.name': await coord('name'),
  };
  const changes = await send(() => planTransfer(deps.configStores!, rules, context));
  deps.print(`  config changes (${changes.length}):`);
  for (const c of changes) deps.print(`    ${c.action.padEnd(9)} ${c.kind.padEnd(9)} ${c.target}`);
  return { ...p, configChanges: changes };
}
