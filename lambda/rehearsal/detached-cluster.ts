import { fork } from 'node:child_process';
import * as path from 'node:path';
import { connect } from '../engine/db';
import type { LocalCluster, LocalClusterOptions } from './embedded-postgres';

/**
 * Start embedded PostgreSQL in a host process of its own process group (see pg-host.ts): a
 * terminal's Ctrl-C goes to the rehearsal only. Same interface as startLocalCluster.
 */
export async function startDetachedCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const host = fork(path.join(__dirname, 'pg-host.ts'), [JSON.stringify(opts)], {
    detached: true,
    execArgv: process.execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ port: number; password: string; dataDir: string; major: number }>(
    (resolve, reject) => {
      host.once(
        'message',
        (m: { ready?: { port: number; password: string; dataDir: string; major: number }; failed?: string }) =>
          m.ready ? resolve(m.ready) : reject(new Error(`embedded PostgreSQL did not start: ${m.failed}`)),
      );
      host.once('exit', (code) =>
        reject(new Error(`embedded PostgreSQL host exited (code ${code}) before the server was ready`)),
      );
    },
  );
  const endpoint = (database: string) => ({
    host: '127.0.0.1',
    port: ready.port,
    database,
    user: 'postgres',
    password: ready.password,
  });
  return {
    port: ready.port,
    dataDir: ready.dataDir,
    major: ready.major,
    endpoint,
    async createDatabase(name: string) {
      const c = await connect(endpoint('postgres'));
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await c.end();
      }
      return endpoint(name);
    },
    async stop() {
      if (host.exitCode !== null) return;
      const exited = new Promise<void>((r) => host.once('exit', () => r()));
      host.send('stop');
      await exited;
    },
  };
}
