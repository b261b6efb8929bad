import type { LocalCluster } from '../../lambda/rehearsal/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const clusters = (globalThis as { __SWITCHYARD_PG__?: LocalCluster[] }).__SWITCHYARD_PG__ ?? [];
  await Promise.all(clusters.map((c) => c.stop()));
}
