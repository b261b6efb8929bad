import 'aws-sdk-client-mock-jest';
import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { type CliRuntime, redact, runCli, type SyncModule, type SyncOptions } from '../../bin/cli/program';
import { quietSdkNodeVersionWarning, SDK_NODE_WARNING_ENV } from '../../bin/cli/sdk-env';
import { version } from '../../package.json';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);

interface Run {
  code: number;
  out: string;
  err: string;
  regions: (string | undefined)[];
}

/** Run the CLI with mocked AWS clients; `clientRegion` is what the SDK would resolve. */
async function cli(argv: string[], extra: Partial<CliRuntime> & { clientRegion?: string | null } = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const regions: (string | undefined)[] = [];
  const clientRegion = extra.clientRegion === undefined ? 'eu-west-1' : extra.clientRegion;
  const code = await runCli(argv, {
    version,
    stdout,
    stderr,
    signal: new AbortController().signal,
    sleep: async () => undefined,
    aws: (region) => {
      regions.push(region);
      const cfg = {
        region: region ?? (clientRegion === null ? undefined : clientRegion),
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test' },
      };
      return { sfn: new SFNClient(cfg), cfn: new CloudFormationClient(cfg), configStores: [] };
    },
    ...extra,
  });
  return { code, out, err, regions };
}

const noAwsCalls = () => {
  expect(sfn.calls()).toHaveLength(0);
  expect(cfn.calls()).toHaveLength(0);
};

beforeEach(() => {
  sfn.reset();
  cfn.reset();
});

describe('switchyard CLI (commander)', () => {
  test('GIVEN --help WHEN run THEN every command is listed with an example, exit 0, no AWS call', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['plan', 'start', 'status', 'rollback', 'restore', 'sync'])
      expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.out).toContain('$ npm run switchyard -- plan --stage dev');
    expect(r.err).toBe('');
    noAwsCalls();
  });

  test.each(['plan', 'start', 'status', 'rollback', 'restore', 'sync'])(
    'GIVEN %s --help WHEN run THEN its options and an example print, exit 0, no AWS call',
    async (command) => {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: switchyard ${command} [options]`);
      expect(r.out).toMatch(new RegExp(`\\$ npm run switchyard -- ${command} --`));
      noAwsCalls();
    },
  );

  test('GIVEN --version WHEN run THEN the package.json version prints, exit 0', async () => {
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, out: `${version}\n` });
  });

  test('fails with exit 2 and the usage on stderr when the command is unknown, before any AWS call', async () => {
    const r = await cli(['launch', '--stage', 'dev']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: unknown command 'launch'");
    expect(r.err).toContain('Usage: switchyard [options] [command]');
    expect(r.out).toBe('');
    expect(r.regions).toEqual([]);
    noAwsCalls();
  });

  test('fails with exit 2 and the command usage when a flag is unknown, before any AWS call', async () => {
    const r = await cli(['status', '--stage', 'dev', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: unknown option '--bogus'");
    expect(r.err).toContain('Usage: switchyard status [options]');
    expect(r.regions).toEqual([]);
    noAwsCalls();
  });

  test('fails with exit 2 when no command is given', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: switchyard');
  });

  test('fails with exit 2 naming the choices when the stage is not one of them, before any AWS call', async () => {
    const r = await cli(['status', '--stage', 'qa']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("argument 'qa' is invalid. Allowed choices are dev, staging, prod.");
    noAwsCalls();
  });

  test('fails with exit 2 and a named UsageError when start has no migration id, before any AWS call', async () => {
    const r = await cli(['start', '--stage', 'dev']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'UsageError: a migration id is required: --migration-id ID or "migrationId" in the --input file',
    );
    expect(r.err).toContain('`npm run switchyard -- start --help`');
    expect(r.regions).toEqual([]);
    noAwsCalls();
  });

  test('GIVEN plan without --live WHEN run THEN it prints the plan with no AWS client and no call', async () => {
    const r = await cli(['plan', '--stage', 'prod']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('copy chat_messages -> messages');
    expect(r.out).toContain('5 -> 25 -> 50 -> 100 %');
    expect(r.regions).toEqual([]);
    noAwsCalls();
  });

  test('fails with NoRegionError saying how to set one when no region resolves, before any AWS call', async () => {
    const saved = {
      AWS_REGION: process.env.AWS_REGION,
      AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION,
      AWS_PROFILE: process.env.AWS_PROFILE,
      AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE,
    };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_PROFILE;
    process.env.AWS_CONFIG_FILE = '/nonexistent/switchyard-test-config';
    try {
      const r = await cli(['status', '--stage', 'dev'], { clientRegion: null });
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        'NoRegionError: no AWS region: set AWS_REGION (or a region in your AWS profile) or pass --region, e.g. --region eu-west-1\n',
      );
      noAwsCalls();
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  test('GIVEN --region WHEN status runs THEN the clients get that region and the workflows are listed', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 's',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: ['Migrate', 'RollbackTraffic', 'RestoreData', 'Decommission'].map((n) => ({
            OutputKey: `${n}StateMachineArnX`,
            OutputValue: `arn:${n}`,
          })),
        },
      ],
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const r = await cli(['status', '--stage', 'dev', '--region', 'ap-southeast-2']);
    expect(r.code).toBe(0);
    expect(r.regions).toEqual(['ap-southeast-2']);
    expect(r.out).toContain('Migrate:\n  (no executions)');
  });

  test('fails with NoCredentialsError in one line with the fix when the SDK finds no credentials', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    const r = await cli(['status', '--stage', 'dev']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'NoCredentialsError: no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`, then retry\n',
    );
  });

  test('fails with exit 1, the error name and message and no stack trace when something unexpected breaks', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalFailure' }));
    const r = await cli(['status', '--stage', 'dev']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('InternalFailure: boom\n');
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  test('GIVEN sync with every flag WHEN run THEN syncCommand gets them, the io and its exit code is the CLI exit code', async () => {
    const seen: { opts?: SyncOptions; signal?: AbortSignal } = {};
    const loadSync = async (): Promise<SyncModule> => ({
      syncCommand: async (opts, io) => {
        seen.opts = opts;
        seen.signal = io.signal;
        io.stdout.write('synced\n');
        return 3;
      },
    });
    const r = await cli(
      [
        'sync',
        '--source',
        'postgres://u:pw@old:5432/app',
        '--target',
        'postgres://u:pw@new/app',
        '--spec',
        's.json',
        '--table',
        'a',
        '--table',
        'b',
        '--once',
        '--resume',
      ],
      { loadSync },
    );
    expect(r.code).toBe(3);
    expect(r.out).toBe('synced\n');
    expect(seen.opts).toEqual({
      source: 'postgres://u:pw@old:5432/app',
      target: 'postgres://u:pw@new/app',
      spec: 's.json',
      tables: ['a', 'b'],
      once: true,
      resume: true,
    });
    expect(seen.signal).toBeDefined();
    expect(r.regions).toEqual([]);
  });

  test('fails with exit 2 without echoing the URL when --source is not a postgres URL', async () => {
    let called = false;
    const r = await cli(['sync', '--source', 'mysql://u:hunter2@old/app', '--target', 'postgres://u:pw@new/app'], {
      loadSync: async () => {
        called = true;
        return { syncCommand: async () => 0 };
      },
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain('UsageError: --source must be a postgres:// URL');
    expect(r.err).not.toContain('hunter2');
    expect(called).toBe(false);
  });

  test('fails with exit 2 when sync misses --target', async () => {
    const r = await cli(['sync', '--source', 'postgres://u@old/app']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("UsageError: required option '--target <url>' (or --target-env <VAR>) not specified");
  });

  test('GIVEN sync status / switchover / cleanup WHEN run THEN each subcommand gets its own flags (--flag=value too)', async () => {
    const seen: Record<string, unknown> = {};
    const loadSync = async (): Promise<SyncModule> => ({
      syncCommand: async () => 9,
      syncStatusCommand: async (o) => {
        seen.status = o;
        return 0;
      },
      syncSwitchoverCommand: async (o) => {
        seen.switchover = o;
        return 0;
      },
      syncCleanupCommand: async (o) => {
        seen.cleanup = o;
        return 0;
      },
    });
    const flags = ['--source-env', 'OLD_URL', '--target=postgres://u@new/app'];
    for (const c of ['status', 'cleanup']) expect((await cli(['sync', c, ...flags], { loadSync })).code).toBe(0);
    expect((await cli(['sync', 'switchover', ...flags, '--max-lag-bytes=1024'], { loadSync })).code).toBe(0);
    const conn = { sourceEnv: 'OLD_URL', target: 'postgres://u@new/app' };
    expect(seen).toEqual({ status: conn, cleanup: conn, switchover: { ...conn, maxLagBytes: 1024 } });
  });

  test('fails with exit 2 naming the flag when a sync subcommand has both --source and --source-env', async () => {
    const r = await cli([
      'sync',
      'cleanup',
      '--source',
      'postgres://u@o/a',
      '--source-env',
      'X',
      '--target',
      'postgres://u@n/a',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('UsageError: pass --source or --source-env, not both');
  });

  test('fails with exit 2 and one usage-error style when rehearse gets a bad --rows=value, before anything starts', async () => {
    const r = await cli(['rehearse', '--rows=abc']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: option '--rows <n>' argument 'abc' is invalid. --rows must be an integer from 100");
  });

  test('rehearse --sync-runner takes lambda or ecs only', async () => {
    const r = await cli(['rehearse', '--sync-runner', 'fargate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("argument 'fargate' is invalid. Allowed choices are lambda, ecs.");
  });

  test('GIVEN an error message with a connection URL WHEN printed THEN its password is hidden', async () => {
    expect(redact('cannot connect to postgres://app:s3cret@db:5432/x')).toBe(
      'cannot connect to postgres://app:***@db:5432/x',
    );
    const r = await cli(['sync', '--source', 'postgres://u:s3cret@old/app', '--target', 'postgres://u:pw@new/app'], {
      loadSync: async () => ({
        syncCommand: async () => Promise.reject(new Error('lost postgres://u:s3cret@old/app')),
      }),
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain('postgres://u:***@old/app');
    expect(r.err).not.toContain('s3cret');
  });
});

describe('SDK Node-version warning', () => {
  test("GIVEN no setting WHEN the CLI starts THEN the SDK's documented switch turns only that warning off", () => {
    const env: NodeJS.ProcessEnv = {};
    quietSdkNodeVersionWarning(env);
    expect(env).toEqual({ [SDK_NODE_WARNING_ENV]: 'true' });
  });

  test('GIVEN the user set the switch WHEN the CLI starts THEN their value is kept', () => {
    const env: NodeJS.ProcessEnv = { [SDK_NODE_WARNING_ENV]: 'false' };
    quietSdkNodeVersionWarning(env);
    expect(env[SDK_NODE_WARNING_ENV]).toBe('false');
  });
});
