import { CHAT_APP_VERIFICATION } from '../../lambda/rehearsal/chat-verification';
import { startLocalCluster } from '../../lambda/rehearsal/embedded-postgres';
import { ENGINE_DRILLS, runEngineDrills } from '../../lambda/rehearsal/engine-drills';
import { type RehearsalOptions, rehearse } from '../../lambda/rehearsal/rehearse';
import type { StageName } from '../../lib/config/stages';
import { synthesizeMigrationTemplate } from '../../lib/local-template';

const DRILLS: { name: string; opts: Partial<RehearsalOptions> }[] = [
  { name: 'unhealthy new side at 25 %', opts: { unhealthyAt: 25 } },
  { name: 'failed phase after traffic moved (Bake)', opts: { failAt: 'Bake' } },
  // sync.runner ecs: the rollback must stop the long-running sync task before its drains.
  { name: 'failed Bake with the sync task applying (sync.runner ecs)', opts: { failAt: 'Bake', syncRunner: 'ecs' } },
  { name: 'rollback after Finalize, writes after it', opts: { rollbackAfterFinalize: true } },
  { name: 'paused at 25 %, aborted by the operator', opts: { pauseAt: 25, abortAtPause: true, pauseSeconds: 1 } },
];

/**
 * `switchyard drill` (npm run drill): the fault drills the pipeline runs before each stage, the
 * writing rehearsal with an unhealthy step and with a failed phase after traffic moved. Exit 1
 * when a drill lost an acknowledged write or ended anywhere but 100 % old.
 */
export async function drillCommand(
  o: { rows: number; stage: StageName },
  io: { stdout: NodeJS.WritableStream; signal: AbortSignal },
): Promise<number> {
  const templates = {
    lambda: synthesizeMigrationTemplate(o.stage, { verification: CHAT_APP_VERIFICATION }),
    ecs: synthesizeMigrationTemplate(o.stage, { verification: CHAT_APP_VERIFICATION, sync: { runner: 'ecs' } }),
  };
  const cluster = await startLocalCluster();
  let failed = 0;
  let ran = 0;
  try {
    for (const d of DRILLS) {
      if (io.signal.aborted) break;
      const r = await rehearse({
        rows: o.rows,
        bakeSeconds: 1,
        server: cluster.endpoint('postgres'),
        template: templates[d.opts.syncRunner ?? 'lambda'],
        signal: io.signal,
        ...d.opts,
      });
      ran++;
      const w = r.integrity.writes;
      const ok = r.expected && r.traffic.finalWeights.old === 100 && !!w && w.lost === 0 && w.acknowledged > 0;
      if (!ok) failed++;
      io.stdout.write(
        `${ok ? 'PASS' : 'FAIL'} drill "${d.name}": ${r.outcome} (${r.error?.name ?? 'no error'}), final old ` +
          `${r.traffic.finalWeights.old} / new ${r.traffic.finalWeights.new}, ` +
          `writes acknowledged ${w?.acknowledged ?? 0}, lost ${w?.lost ?? 'n/a'}\n`,
      );
    }
    // Data drills of the sync's edge paths (lambda/rehearsal/engine-drills.ts): each must lose nothing.
    if (!io.signal.aborted) {
      for (const d of await runEngineDrills((name) => cluster.createDatabase(name))) {
        ran++;
        if (!d.ok) failed++;
        io.stdout.write(
          `${d.ok ? 'PASS' : 'FAIL'} data drill "${d.name}": lost ${d.lost}${d.error ? ` (${d.error})` : ''}\n`,
        );
      }
    }
  } finally {
    await cluster.stop();
  }
  io.stdout.write(
    `${ran - failed} passed, ${failed} failed${ran < DRILLS.length + ENGINE_DRILLS ? `, ${DRILLS.length + ENGINE_DRILLS - ran} not run (stopped)` : ''}\n`,
  );
  return failed ? 1 : 0;
}
