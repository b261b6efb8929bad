#!/usr/bin/env node
/**
 * npm run drill [-- --rows N --stage dev]
 *
 * Fault drills, the promotion condition of the pipeline: the writing rehearsal with an unhealthy
 * traffic step and with a failed phase after traffic moved, on embedded PostgreSQL. Exits 1 when
 * a drill lost an acknowledged write or ended on the wrong side (anything but 100 % old). Then the
 * data drills (a TOASTed-column conflict, TRUNCATE on each side, foreign keys and unique constraints
 * under writes): each must end with lost = 0.
 */
import { CHAT_APP_VERIFICATION } from '../lambda/rehearsal/chat-verification';
import { ENGINE_DRILLS, runEngineDrills } from '../lambda/rehearsal/engine-drills';
import { rehearse, type RehearsalOptions } from '../lambda/rehearsal/rehearse';
import { startLocalCluster } from '../lambda/rehearsal/embedded-postgres';
import { synthesizeMigrationTemplate } from '../lib/local-template';
import { STAGE_NAMES, type StageName } from '../lib/config/stages';

const DRILLS: { name: string; opts: Partial<RehearsalOptions> }[] = [
  { name: 'unhealthy new side at 25 %', opts: { unhealthyAt: 25 } },
  { name: 'failed phase after traffic moved (Bake)', opts: { failAt: 'Bake' } },
];

async function main() {
  const args = process.argv.slice(2);
  const arg = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rows = Number(arg('--rows') ?? 5000);
  const stage = (arg('--stage') ?? 'dev') as StageName;
  if (!STAGE_NAMES.includes(stage)) throw new Error(`--stage must be one of ${STAGE_NAMES.join(', ')}, got: ${stage}`);
  if (!Number.isInteger(rows) || rows < 100)
    throw new Error(`--rows must be an integer of at least 100, got: ${arg('--rows')}`);
  const template = synthesizeMigrationTemplate(stage, { verification: CHAT_APP_VERIFICATION });
  const cluster = await startLocalCluster();
  let failed = 0;
  try {
    for (const d of DRILLS) {
      const r = await rehearse({ rows, bakeSeconds: 1, server: cluster.endpoint('postgres'), template, ...d.opts });
      const w = r.integrity.writes;
      const ok = r.expected && r.traffic.finalWeights.old === 100 && !!w && w.lost === 0 && w.acknowledged > 0;
      if (!ok) failed++;
      process.stdout.write(
        `${ok ? 'PASS' : 'FAIL'} drill "${d.name}": ${r.outcome} (${r.error?.name ?? 'no error'}), final old ${r.traffic.finalWeights.old} / new ${r.traffic.finalWeights.new}, ` +
          `writes acknowledged ${w?.acknowledged ?? 0}, lost ${w?.lost ?? 'n/a'}\n`,
      );
    }
    // Data drills of the sync's edge paths (lambda/rehearsal/engine-drills.ts).
    for (const d of await runEngineDrills((name) => cluster.createDatabase(name))) {
      if (!d.ok) failed++;
      process.stdout.write(
        `${d.ok ? 'PASS' : 'FAIL'} data drill "${d.name}": lost ${d.lost}${d.error ? ` (${d.error})` : ''}\n`,
      );
    }
  } finally {
    await cluster.stop();
  }
  process.stdout.write(`${DRILLS.length + ENGINE_DRILLS - failed} passed, ${failed} failed\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`drill failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(2);
});
