import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { STAGE_NAMES, type StageName } from '../../lib/config/stages';
import type { ConfigStore } from '../../lambda/core/config/ports';
import { ensureRegion, explainAwsError } from './aws';
import { type CliDeps, planCommand, restoreCommand, rollbackCommand, startCommand, statusCommand } from './commands';
import { SwitchyardError } from '../../lambda/core/errors';
import { CliError, UsageError } from './errors';

/** The AWS clients of one run; constructing them makes no network call. */
export interface AwsClients {
  readonly sfn: SFNClient;
  readonly cfn: CloudFormationClient;
  readonly configStores: readonly ConfigStore[];
  /** The stage lock table's client (`resume`, `abort` read a paused step's task token there). */
  readonly ddb?: DynamoDBClient;
}

/** Connection flags of every `sync` command (one of each pair). */
export interface SyncConnectOptions {
  source?: string;
  sourceEnv?: string;
  target?: string;
  targetEnv?: string;
  spec?: string;
}
export interface SyncOptions extends SyncConnectOptions {
  tables?: string[];
  once?: boolean;
  resume?: boolean;
  allowFullIdentity?: boolean;
  streaming?: boolean;
}
export interface SwitchoverOptions extends SyncConnectOptions {
  maxLagBytes?: number;
  waitSeconds?: number;
  reverse?: boolean;
}
export interface SyncIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}
/** bin/cli/sync.ts and sync-lifecycle.ts: change capture between two PostgreSQL databases (no AWS). */
export interface SyncModule {
  syncCommand(opts: SyncOptions, io: SyncIo): Promise<number>;
  syncStatusCommand?(opts: SyncConnectOptions, io: SyncIo): Promise<number>;
  syncCleanupCommand?(opts: SyncConnectOptions, io: SyncIo): Promise<number>;
  syncSwitchoverCommand?(opts: SwitchoverOptions, io: SyncIo): Promise<number>;
}

export interface CliRuntime extends SyncIo {
  /** Shown by --version (package.json's version). */
  readonly version: string;
  /** The AWS clients, for the commands that need AWS (region from --region, else the SDK's default chain). */
  readonly aws: (region: string | undefined) => AwsClients;
  /** Loads the sync command. @default import('./sync') */
  readonly loadSync?: () => Promise<SyncModule>;
  readonly readFile?: (file: string) => string;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Exit codes: 0 done, 1 failed (named error), 2 usage, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const NPM = 'npm run switchyard --';

/** Hide passwords of connection URLs (postgres://user:secret@host) in anything printed. */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@\s/]*@/gi, '$1:***@');
}

/** Loaded on use: only `sync` needs the PostgreSQL engine. */
async function loadSyncModule(): Promise<SyncModule> {
  return { ...(await import('./sync')), ...(await import('./sync-lifecycle')) };
}

/** Run a benchmark script of bin/ in a child process (it owns its flags); its exit code is ours. */
async function runScript(file: string, args: readonly string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const path = await import('node:path');
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, '..', file), ...args], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? EXIT.interrupted : 1))));
}

function example(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${NPM} ${l}`).join('\n')}\n`;
}

function stageOption(): Option {
  return new Option('--stage <stage>', 'the deployed stage')
    .choices(STAGE_NAMES as readonly string[])
    .makeOptionMandatory();
}

function isPostgresUrl(v: string): boolean {
  try {
    return /^postgres(ql)?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}

/** Build the operator CLI. Every action's result code lands in `result.code`. */
export function buildProgram(rt: CliRuntime, result: { code: number }): Command {
  const print = (line: string) => rt.stdout.write(`${line}\n`);
  const base = (): Omit<CliDeps, 'sfn' | 'cfn'> => ({
    print,
    readFile: rt.readFile,
    pollMs: rt.pollMs,
    sleep: rt.sleep,
    signal: rt.signal,
  });
  /** Clients for this region, after the region resolved (no network call yet). */
  const withAws = async (region: string | undefined): Promise<CliDeps> => {
    const clients = rt.aws(region);
    await ensureRegion(clients.cfn);
    return { ...base(), ...clients };
  };
  const regionOption = () => new Option('--region <region>', 'AWS region (default: AWS_REGION or your AWS profile)');

  const program = new Command('switchyard')
    .description(
      'Operate Switchyard migrations: plan, start and follow, status, resume or abort a paused step, traffic rollback, ' +
        'data restore; sync PostgreSQL without AWS.',
    )
    .version(rt.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help (every command has its own: <command> --help)')
    .configureOutput({
      writeOut: (s) => rt.stdout.write(s),
      writeErr: (s) => rt.stderr.write(s),
      outputError: (s, write) => write(redact(s)),
    })
    .exitOverride()
    // `sync status --source …`: a subcommand's flags go to the subcommand, not to its parent.
    .enablePositionalOptions()
    .showHelpAfterError()
    .showSuggestionAfterError()
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      `${example('plan --stage dev', 'start --stage dev --migration-id chat-2026-11-24')}
Run from the repository with npm (as above) or \`npx tsx bin/switchyard.ts <command>\`.
AWS commands use the SDK's default chain: AWS_PROFILE / AWS_ACCESS_KEY_ID, AWS_REGION (or --region),
AWS_ENDPOINT_URL(_SFN / _CLOUDFORMATION / _SSM / _SECRETS_MANAGER).
Exit codes: 0 done, 1 failed (the error names the fix), 2 usage error, 130 interrupted (Ctrl-C).
`,
    );

  program
    .command('plan')
    .description(
      'what a migration of the stage would do: tables and chunking, config mapping, weight schedule, bake time. ' +
        'Changes nothing and calls no AWS API unless --live.',
    )
    .addOption(stageOption())
    .option(
      '--live',
      "also read the stage's SSM parameters and secrets (names only, never values) to list each config change",
    )
    .addOption(new Option('--offline', 'the default; kept for older scripts').hideHelp())
    .addOption(regionOption())
    .addHelpText('after', example('plan --stage prod', 'plan --stage dev --live --region eu-west-1'))
    .action(async (o: { stage: StageName; live?: boolean; region?: string }) => {
      if (o.live) await planCommand({ stage: o.stage, live: true }, await withAws(o.region));
      else await planCommand({ stage: o.stage }, { print });
    });

  program
    .command('start')
    .description('start the Migrate workflow (execution name = migration id) and print each phase until it ends')
    .addOption(stageOption())
    .option('--migration-id <id>', 'the migration id (or "migrationId" in --input)')
    .option('--input <file>', 'execution input JSON (see docs/examples/migrate-input.json)')
    .option('--dry-run', 'gate check only: runs Preflight and ends in GateDryRunGo, moves nothing')
    .option('--no-follow', 'return once started instead of following the execution')
    .addOption(regionOption())
    .addHelpText(
      'after',
      example(
        'start --stage dev --migration-id chat-2026-11-24',
        'start --stage prod --input docs/examples/migrate-input.json --dry-run',
      ),
    )
    .action(
      async (o: {
        stage: StageName;
        migrationId?: string;
        input?: string;
        dryRun?: boolean;
        follow: boolean;
        region?: string;
      }) => {
        if (!o.migrationId && !o.input)
          throw new UsageError('a migration id is required: --migration-id ID or "migrationId" in the --input file');
        await startCommand(
          { stage: o.stage, migrationId: o.migrationId, input: o.input, dryRun: o.dryRun, follow: o.follow },
          await withAws(o.region),
        );
      },
    );

  program
    .command('status')
    .description('the last executions of every workflow of the stage')
    .addOption(stageOption())
    .addOption(regionOption())
    .addHelpText('after', example('status --stage staging'))
    .action(async (o: { stage: StageName; region?: string }) => {
      await statusCommand({ stage: o.stage }, await withAws(o.region));
    });

  program
    .command('rollback')
    .description('start RollbackTraffic: weights back to 100 % old in one call, then follow it (minutes)')
    .addOption(stageOption())
    .requiredOption('--migration-id <id>', 'the migration to roll back')
    .option('--no-follow', 'return once started')
    .addOption(regionOption())
    .addHelpText('after', example('rollback --stage prod --migration-id chat-2026-11-24'))
    .action(async (o: { stage: StageName; migrationId: string; follow: boolean; region?: string }) => {
      await rollbackCommand({ stage: o.stage, migrationId: o.migrationId, follow: o.follow }, await withAws(o.region));
    });

  program
    .command('restore')
    .description(
      'start RestoreData: the old database from the pre-migration snapshot, previous config versions, then follow it (under an hour)',
    )
    .addOption(stageOption())
    .requiredOption('--migration-id <id>', 'the migration whose data to restore')
    .requiredOption(
      '--snapshot-id <id>',
      'the pre-migration snapshot (Backup phase output, tagged with the migration id)',
    )
    .option(
      '--applied <file>',
      'JSON list of config changes TransferConfig applied (its "applied" output), to restore their previous versions',
    )
    .option('--no-follow', 'return once started')
    .addOption(regionOption())
    .addHelpText(
      'after',
      example('restore --stage prod --migration-id chat-2026-11-24 --snapshot-id switchyard-prod-chat-2026-11-24'),
    )
    .action(
      async (o: {
        stage: StageName;
        migrationId: string;
        snapshotId: string;
        applied?: string;
        follow: boolean;
        region?: string;
      }) => {
        await restoreCommand(
          {
            stage: o.stage,
            migrationId: o.migrationId,
            snapshotId: o.snapshotId,
            applied: o.applied,
            follow: o.follow,
          },
          await withAws(o.region),
        );
      },
    );

  for (const [action, what, after] of [
    [
      'resume',
      "resume a migration paused at a step (pauseAt): Migrate goes on with the next step (SendTaskSuccess on the pause's task token)",
      'resume --stage prod --migration-id chat-2026-11-24',
    ],
    [
      'abort',
      'abort a migration paused at a step: Migrate rolls the traffic back to 100 % old (SendTaskFailure, MigrationAbortedError)',
      'abort --stage prod --migration-id chat-2026-11-24',
    ],
  ] as const)
    program
      .command(action)
      .description(what)
      .addOption(stageOption())
      .requiredOption('--migration-id <id>', 'the paused migration')
      .option('--by <name>', 'who answers, kept in the execution history (default: $USER)')
      .addOption(regionOption())
      .addHelpText('after', example(after))
      .action(async (o: { stage: StageName; migrationId: string; by?: string; region?: string }) => {
        const { sfn, ddb } = await withAws(o.region);
        if (!ddb) throw new Error('the CLI runtime has no DynamoDB client (bin/cli/main.ts)');
        const { answerPauseCommand } = await import('./pause');
        await answerPauseCommand(
          { stage: o.stage, migrationId: o.migrationId, action, by: o.by ?? process.env.USER ?? 'operator' },
          { sfn, ddb, print },
        );
      });

  const connectOptions = (c: Command) =>
    c
      .option('--source <url>', 'source database, postgres://user@host:5432/db (password from PGPASSWORD or ~/.pgpass)')
      .option('--source-env <VAR>', 'environment variable holding the source URL (keeps it out of `ps`)')
      .option('--target <url>', 'target database, postgres://user@host:5432/db')
      .option('--target-env <VAR>', 'environment variable holding the target URL')
      .option('--spec <file>', 'migration spec JSON (default: the source schema, introspected)');
  /** The connection flags, checked before anything connects (URLs are never echoed: they may hold passwords). */
  const connectFlags = (o: SyncConnectOptions): SyncConnectOptions => {
    for (const side of ['source', 'target'] as const) {
      const url = o[side];
      const env = o[`${side}Env`];
      if (url && env) throw new UsageError(`pass --${side} or --${side}-env, not both`);
      if (!url && !env)
        throw new UsageError(`required option '--${side} <url>' (or --${side}-env <VAR>) not specified`);
      if (url && !isPostgresUrl(url))
        throw new UsageError(`--${side} must be a postgres:// URL like postgres://user@host:5432/db`);
    }
    const out: SyncConnectOptions = {};
    for (const k of ['source', 'sourceEnv', 'target', 'targetEnv', 'spec'] as const) if (o[k]) out[k] = o[k];
    return out;
  };
  const io = () => ({ stdout: rt.stdout, stderr: rt.stderr, signal: rt.signal });
  const loadSync = () => (rt.loadSync ?? loadSyncModule)();
  const positive = (flag: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number >= 0, got: ${v}`);
    return n;
  };

  const sync = connectOptions(
    program
      .command('sync')
      .description(
        'copy and then follow changes from the source to the target PostgreSQL until Ctrl-C (no AWS); status, switchover and cleanup below',
      ),
  )
    .option(
      '--table <name>',
      'only this source table, `table` or `schema.table` (repeatable; default every table)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--once', 'copy, apply what is pending, then stop')
    .option('--resume', 'continue from the position stored in the target')
    .option(
      '--allow-full-identity',
      'sync tables without a primary key (REPLICA IDENTITY FULL set on the source): by a unique NOT NULL key, ' +
        'else forward only, rows matched by all columns',
    )
    .option(
      '--no-streaming',
      'apply a large transaction only once it committed (default: from PostgreSQL 14, while the source still decodes it, committed at its commit)',
    )
    .addHelpText(
      'after',
      example(
        'sync --source postgres://app@old-db:5432/chat --target postgres://app@new-db:5432/chat',
        'sync --source-env OLD_DB_URL --target-env NEW_DB_URL --table messages --once',
        'sync status --source postgres://app@old-db/chat --target postgres://app@new-db/chat',
      ),
    )
    .action(
      async (
        o: SyncConnectOptions & {
          table: string[];
          once?: boolean;
          resume?: boolean;
          allowFullIdentity?: boolean;
          streaming?: boolean;
        },
      ) => {
        const opts: SyncOptions = connectFlags(o);
        if (o.table.length) opts.tables = o.table;
        if (o.once) opts.once = true;
        if (o.resume) opts.resume = true;
        if (o.allowFullIdentity) opts.allowFullIdentity = true;
        if (o.streaming === false) opts.streaming = false;
        result.code = await (await loadSync()).syncCommand(opts, io());
      },
    );
  connectOptions(
    sync.command('status').description('slot, retained WAL, lag, last applied position and conflicts of a sync'),
  ).action(async (o: SyncConnectOptions) => {
    result.code = await (await loadSync()).syncStatusCommand!(connectFlags(o), io());
  });
  connectOptions(
    sync
      .command('switchover')
      .description(
        'wait until the lag is small, make the source read-only, drain to zero, finish constraints and move sequences',
      ),
  )
    .option('--max-lag-bytes <n>', 'lag under which the source is fenced (default 16 MiB)', positive('--max-lag-bytes'))
    .option('--wait-seconds <n>', 'how long to wait for that lag (default 600)', positive('--wait-seconds'))
    .option('--reverse', "then follow the target's changes back into the source (a rollback window) until Ctrl-C")
    .action(async (o: SyncConnectOptions & { maxLagBytes?: number; waitSeconds?: number; reverse?: boolean }) => {
      const opts: SwitchoverOptions = connectFlags(o);
      if (o.reverse) opts.reverse = true;
      if (o.maxLagBytes !== undefined) opts.maxLagBytes = o.maxLagBytes;
      if (o.waitSeconds !== undefined) opts.waitSeconds = o.waitSeconds;
      result.code = await (await loadSync()).syncSwitchoverCommand!(opts, io());
    });
  connectOptions(
    sync
      .command('cleanup')
      .description('drop the slot, publication, origin and bookkeeping of a sync on both databases (idempotent)'),
  ).action(async (o: SyncConnectOptions) => {
    result.code = await (await loadSync()).syncCleanupCommand!(connectFlags(o), io());
  });

  const int = (flag: string, min: number, max: number) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}, got: ${v}`);
    return n;
  };
  program
    .command('rehearse')
    .description(
      'the whole migration on this machine, no AWS account: embedded PostgreSQL, clients writing through both sides',
    )
    .option('--rows <n>', 'chat messages to seed (default 100000)', int('--rows', 100, 50_000_000))
    .option(
      '--writes-per-second <n>',
      'writes through the router, all clients together (default 100)',
      int('--writes-per-second', 1, 5000),
    )
    .option('--read-only', 'clients only read (implied by --source)')
    .option(
      '--fail-at <state>',
      'make this task state of the Migrate workflow fail (a wrong name lists the valid ones)',
    )
    .option(
      '--unhealthy-at <weight>',
      'the new app answers 500 once it serves this percentage',
      int('--unhealthy-at', 1, 100),
    )
    .option(
      '--operator-rollback-at <weight>',
      'an operator starts RollbackTraffic while this step bakes',
      int('--operator-rollback-at', 1, 100),
    )
    .option(
      '--rollback-after-finalize',
      'after Migrate completes, writers keep going on the new side and an operator runs RollbackTraffic',
    )
    .option(
      '--pause-at <weight>',
      'Migrate holds after the gate of this step; the rehearsal resumes it after --pause-seconds (switchyard resume)',
      int('--pause-at', 1, 100),
    )
    .option('--abort-at-pause', 'the abort drill: abort that pause instead (traffic back to 100 % old)')
    .option('--pause-seconds <n>', 'seconds before the pause is answered (default 3)', int('--pause-seconds', 0, 3600))
    .option('--slow-at <weight>', 'the new app gets slower once it serves this percentage', int('--slow-at', 1, 100))
    .option('--latency-ms <n>', 'added latency for --slow-at (default 50)', int('--latency-ms', 1, 60_000))
    .option('--break <route>', 'the new app answers this read route differently, e.g. "GET /messages/:id"')
    .option(
      '--source <url>',
      'rehearse against a local copy of your own database (only read; without --spec its tables are introspected)',
    )
    .option('--source-env <VAR>', 'environment variable holding the --source URL (keeps it out of `ps`)')
    .option('--spec <file>', 'your migration spec (JSON)')
    .option('--bake <seconds>', 'seconds each traffic step bakes (default 1)', int('--bake', 0, 600))
    .addOption(
      new Option(
        '--sync-runner <runner>',
        'where the sync runs: lambda (bounded runs, the default) or ecs (the long-running task, here in-process)',
      ).choices(['lambda', 'ecs']),
    )
    .option('--report <file.html>', 'also write the report as one self-contained HTML page')
    .option('--json', 'print the report as JSON on stdout')
    .option('--keep', 'keep the embedded databases running until Enter or Ctrl-C, and their data directory')
    .option(
      '--old-pg <major>',
      "PostgreSQL major (13-18) of the old side's server (default 18)",
      int('--old-pg', 13, 18),
    )
    .option(
      '--new-pg <major>',
      "PostgreSQL major (13-18) of the new side's server (default 18)",
      int('--new-pg', 13, 18),
    )
    .addHelpText(
      'after',
      example(
        'rehearse',
        'rehearse --rows 20000 --unhealthy-at 25',
        'rehearse --pause-at 25 --abort-at-pause',
        'rehearse --fail-at=Bake --json',
      ),
    )
    .action(async (o: Record<string, string | number | boolean | undefined>) => {
      if (o.source && o.sourceEnv) throw new UsageError('pass --source or --source-env, not both');
      const source = o.sourceEnv ? process.env[o.sourceEnv as string] : (o.source as string | undefined);
      if (o.sourceEnv && !source)
        throw new UsageError(`--source-env ${o.sourceEnv}: that environment variable is not set`);
      if (source !== undefined && !isPostgresUrl(source))
        throw new UsageError('--source must be a postgres:// URL like postgres://user@host:5432/db');
      const { rehearseCommand } = await import('./rehearse');
      const pick = <T>(k: string) => (o[k] === undefined ? {} : { [k]: o[k] as T });
      result.code = await rehearseCommand(
        {
          ...pick<number>('rows'),
          ...pick<number>('writesPerSecond'),
          ...pick<boolean>('readOnly'),
          ...pick<string>('failAt'),
          ...pick<number>('unhealthyAt'),
          ...pick<number>('operatorRollbackAt'),
          ...pick<boolean>('rollbackAfterFinalize'),
          ...pick<number>('pauseAt'),
          ...pick<boolean>('abortAtPause'),
          ...pick<number>('pauseSeconds'),
          ...pick<number>('slowAt'),
          ...pick<number>('latencyMs'),
          ...(o.break ? { breakRoute: o.break as string } : {}),
          ...(source ? { source } : {}),
          ...(o.spec ? { specFile: o.spec as string } : {}),
          ...(o.bake === undefined ? {} : { bakeSeconds: o.bake as number }),
          ...pick<'lambda' | 'ecs'>('syncRunner'),
          ...(o.report ? { reportFile: o.report as string } : {}),
          ...pick<boolean>('json'),
          ...pick<boolean>('keep'),
          ...pick<number>('oldPg'),
          ...pick<number>('newPg'),
        },
        { ...io(), stdin: process.stdin },
      );
    });
  program
    .command('drill')
    .description(
      'the fault drills the pipeline runs before each stage (unhealthy step, failed phase after traffic moved)',
    )
    .option('--rows <n>', 'chat messages to seed', int('--rows', 100, 50_000_000), 5000)
    .addOption(
      new Option('--stage <stage>', 'the stage whose config the drills use')
        .choices(STAGE_NAMES as readonly string[])
        .default('dev'),
    )
    .addHelpText('after', example('drill', 'drill --rows 20000 --stage staging'))
    .action(async (o: { rows: number; stage: StageName }) => {
      const { drillCommand } = await import('./drill');
      result.code = await drillCommand(o, io());
    });
  for (const [name, file, what] of [
    [
      'bench',
      'bench.ts',
      'throughput of the copy engine and the validator against a raw COPY pipe (1M rows; --help for its flags)',
    ],
    [
      'bench:sync',
      'bench-sync.ts',
      "the sync's lag and apply throughput under a fixed write load, beside native logical replication",
    ],
  ] as const)
    program
      .command(name)
      .description(what)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[flags...]', 'passed on to the benchmark')
      .action(async (flags: string[]) => {
        result.code = await runScript(file, flags);
      });

  return program;
}

/** Run the CLI on argv (without node and script); returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], rt: CliRuntime): Promise<number> {
  const result = { code: EXIT.ok };
  const program = buildProgram(rt, result);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with 0; every other parse failure is a usage error (message and usage already printed).
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const err = explainAwsError(e);
    if (err instanceof CliError) {
      rt.stderr.write(`${err.name}: ${redact(err.message)}\n`);
      if (err instanceof UsageError)
        rt.stderr.write(
          `(run \`${NPM} ${argv[0] && !argv[0].startsWith('-') ? `${argv[0]} ` : ''}--help\` for usage)\n`,
        );
      return err.exitCode;
    }
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    rt.stderr.write(`${name}: ${redact(message)}\n`);
    // A named engine error (a wrong password, an unreachable database) says what to do: exit 1, no hint.
    if (err instanceof SwitchyardError) return EXIT.failed;
    if (process.env.SWITCHYARD_DEBUG && err instanceof Error && err.stack) rt.stderr.write(`${redact(err.stack)}\n`);
    else rt.stderr.write('(unexpected error: rerun with SWITCHYARD_DEBUG=1 for the stack trace, and report it)\n');
    return EXIT.failed;
  }
}
