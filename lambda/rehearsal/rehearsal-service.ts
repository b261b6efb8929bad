/**
 * The service the rehearsal migrates: an old and a new app, each on its own database, behind
 * the weighted router, with clients that keep a ledger of every acknowledged write. The chat
 * spec gets the chat app that reads and writes; a user's own spec a generic read by key.
 */
import type { DbEndpoint, MigrationSpec } from '../engine';
import { sourceRelation, type TableSpec, targetKey, targetRelation } from '../engine/spec';
import { RecordedCanaryMetrics } from '../adapters/local/sample-canary';
import { ServiceClients } from './clients';
import { ChatApp, NEW_MESSAGES, OLD_MESSAGES } from './http-apps';
import type { Cleanup } from './rehearsal-databases';
import type { RehearsalOptions } from './rehearse';
import { LocalWeightedRouter } from './weighted-router';

export interface RehearsalService {
  /** The chat schema: the apps read and write messages. */
  readonly chat: boolean;
  /** Clients write (the chat schema, not read-only, not your own database). */
  readonly writing: boolean;
  /** The generic read: the last (child-most) table of the spec, by key. */
  readonly probe: TableSpec;
  readonly router: LocalWeightedRouter;
  readonly routerPort: number;
  readonly canary: RecordedCanaryMetrics;
  readonly traffic: ServiceClients;
  /** The new app's injected faults, switched on when traffic reaches them (--unhealthy-at, --slow-at). */
  readonly faults: { unhealthy: boolean; slow: boolean };
}

/** Start both apps, the router and the clients (traffic flows from here on). */
export async function startService(
  opts: RehearsalOptions,
  spec: MigrationSpec,
  sides: { source: DbEndpoint; target: DbEndpoint },
  say: (line: string) => void,
  cleanup: Cleanup,
): Promise<RehearsalService> {
  const chat =
    spec.tables.some((t) => 'table' in t.source && t.source.table === 'chat_messages') &&
    spec.tables.some((t) => t.target.table === 'messages');
  const writing = chat && !opts.readOnly && !opts.source;
  const probe = spec.tables[spec.tables.length - 1];
  const faults = { unhealthy: false, slow: false };
  const ports = await startApps(opts, sides, { chat, probe, faults }, cleanup);
  const canary = new RecordedCanaryMetrics();
  const router = new LocalWeightedRouter(ports, undefined, (side, r) => canary.record(side, r));
  const routerPort = await router.start();
  cleanup.push(() => router.stop());
  const rows = opts.rows ?? 100_000;
  const traffic = new ServiceClients({
    port: routerPort,
    maxKey: Math.min(rows, 1_000_000),
    conversations: chat ? Math.ceil(rows / 20) : 1,
    writeRatio: writing ? 0.4 : 0,
    writesPerSecond: opts.writesPerSecond,
    readPath: chat ? 'messages' : 'items',
    currentStep: () => router.windows.length - 1,
  });
  traffic.start();
  cleanup.push(() => traffic.stop());
  say(
    `traffic: router on 127.0.0.1:${routerPort} -> old app :${ports.old}, new app :${ports.new}` +
      (writing ? ' (reads and writes)' : ' (reads only)'),
  );
  return { chat, writing, probe, router, routerPort, canary, traffic, faults };
}

/** The old app on the source, the new one (with the injected faults) on the target. */
async function startApps(
  opts: RehearsalOptions,
  sides: { source: DbEndpoint; target: DbEndpoint },
  app: { chat: boolean; probe: TableSpec; faults: RehearsalService['faults'] },
  cleanup: Cleanup,
): Promise<{ old: number; new: number }> {
  const { chat, probe, faults } = app;
  const oldApp = new ChatApp(sides.source, {
    messages: chat ? OLD_MESSAGES : undefined,
    // Schema-qualified as the copy resolves them (never through the login's search_path).
    probe: { table: sourceRelation(probe) ?? targetRelation(probe), key: probe.key[0] },
  });
  const newApp = new ChatApp(sides.target, {
    messages: chat ? NEW_MESSAGES : undefined,
    probe: { table: targetRelation(probe), key: targetKey(probe)[0] },
    faults: {
      failing: () => faults.unhealthy,
      extraLatencyMs: () => (faults.slow ? (opts.latencyMs ?? 50) : 0),
      broken: (route) => route === opts.breakRoute,
    },
  });
  const ports = { old: await oldApp.start(), new: await newApp.start() };
  cleanup.push(
    () => oldApp.stop(),
    () => newApp.stop(),
  );
  return ports;
}
