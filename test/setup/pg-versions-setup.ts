import { MAX_SUPPORTED_MAJOR, MIN_SUPPORTED_MAJOR } from '../../lambda/engine/capabilities';
import { ensurePgBinaries } from '../../lambda/rehearsal/pg-binaries';
import { startTestServers } from './pg-global-setup';

/**
 * `npm run test:versions`: one server of every supported major (binaries installed on demand into
 * .cache/pg/<major>), or the majors in SWITCHYARD_PG_MAJORS (e.g. `14,17`).
 */
export default async function versionsSetup(): Promise<void> {
  const wanted = process.env.SWITCHYARD_PG_MAJORS?.split(',').map(Number) ?? [];
  const majors = wanted.length
    ? wanted
    : Array.from({ length: MAX_SUPPORTED_MAJOR - MIN_SUPPORTED_MAJOR + 1 }, (_v, i) => MIN_SUPPORTED_MAJOR + i);
  for (const m of majors) ensurePgBinaries(m, (msg) => process.stderr.write(`${msg}\n`));
  process.env.SWITCHYARD_TEST_MATRIX = 'full';
  await startTestServers(majors, '128MB');
}
