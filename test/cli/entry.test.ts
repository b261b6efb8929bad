import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** bin/switchyard.ts as a user runs it (a real process, real SDK clients). */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(TSX, ['bin/switchyard.ts', ...args], { cwd: ROOT, env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return env;
};

describe('bin/switchyard.ts as a process', () => {
  test('fails with exit 2 and the usage, no stack trace, when the command is unknown', async () => {
    const r = await run(['launch'], baseEnv());
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: unknown command 'launch'");
    expect(r.err).not.toMatch(/^\s+at /m);
  }, 20_000);

  test('fails with AwsUnreachableError in one line, without the SDK Node-version warning, when the endpoint is down', async () => {
    const port = await closedPort();
    const r = await run(['status', '--stage', 'dev'], {
      ...baseEnv(),
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'not-a-secret',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_MAX_ATTEMPTS: '1',
    });
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'AwsUnreachableError: cannot reach AWS (ECONNREFUSED) (AWS_ENDPOINT_URL is set: is that endpoint running?): check the network and the region, then retry\n',
    );
    expect(r.err).not.toContain('NodeVersionSupportWarning');
  }, 20_000);
});
