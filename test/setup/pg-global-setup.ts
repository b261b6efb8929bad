import { startLocalCluster } from '../../lambda/rehearsal/embedded-postgres';

/** One embedded PostgreSQL server for the whole test run; each test file creates its own databases. */
export default async function globalSetup(): Promise<void> {
  const cluster = await startLocalCluster();
  (globalThis as { __SWITCHYARD_PG__?: unknown }).__SWITCHYARD_PG__ = cluster;
  process.env.SWITCHYARD_TEST_PG = JSON.stringify(cluster.endpoint('postgres'));
}
