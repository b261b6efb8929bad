/**
 * Runs one embedded PostgreSQL cluster for a parent process, in its own process group (the parent
 * forks it detached), so a Ctrl-C in the terminal reaches the rehearsal, not the database: the
 * rehearsal finishes or abandons its step cleanly and then stops the server itself.
 *
 * Protocol (IPC): the host sends `{ ready: { port, password, dataDir, major } }` or `{ failed: message }`;
 * the parent sends `'stop'`. When the parent goes away without a word, the host stops the server.
 */
import { startLocalCluster, type LocalClusterOptions } from './embedded-postgres';

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as LocalClusterOptions;
  let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('message', (m) => m === 'stop' && void stop());
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  try {
    cluster = await startLocalCluster(opts);
    const e = cluster.endpoint('postgres');
    process.send?.({
      ready: { port: cluster.port, password: e.password, dataDir: cluster.dataDir, major: cluster.major },
    });
  } catch (e) {
    process.send?.({ failed: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
}

void main();
