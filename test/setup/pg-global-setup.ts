import { type LocalCluster, startLocalCluster } from '../../lambda/rehearsal/embedded-postgres';

/** The older major `npm test` runs its cross-version subset against (a devDependency: 13, the oldest supported). */
export const FAST_OLD_MAJOR = 13;
export const DEFAULT_MAJOR = 18;

/**
 * Start one embedded PostgreSQL per major for the whole test run (each test file creates its own
 * databases). SWITCHYARD_TEST_PG is the default major's server (18); SWITCHYARD_TEST_PG_SERVERS maps
 * every started major to its superuser endpoint, for the cross-version suites in test/versions.
 */
export async function startTestServers(majors: readonly number[], sharedBuffers?: string): Promise<void> {
  // Two at a time: initdb is CPU-bound, and the machine may have two cores.
  const clusters: LocalCluster[] = [];
  try {
    for (let i = 0; i < majors.length; i += 2) {
      const started = await Promise.allSettled(
        majors.slice(i, i + 2).map((major) => startLocalCluster({ major, sharedBuffers })),
      );
      for (const s of started) if (s.status === 'fulfilled') clusters.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  } catch (e) {
    await Promise.all(clusters.map((c) => c.stop().catch(() => undefined)));
    throw e;
  }
  (globalThis as { __SWITCHYARD_PG__?: LocalCluster[] }).__SWITCHYARD_PG__ = clusters;
  const byMajor = Object.fromEntries(clusters.map((c) => [c.major, c.endpoint('postgres')]));
  process.env.SWITCHYARD_TEST_PG = JSON.stringify(byMajor[DEFAULT_MAJOR] ?? clusters[0].endpoint('postgres'));
  process.env.SWITCHYARD_TEST_PG_SERVERS = JSON.stringify(byMajor);
}

export default async function globalSetup(): Promise<void> {
  await startTestServers([DEFAULT_MAJOR, FAST_OLD_MAJOR]);
}
