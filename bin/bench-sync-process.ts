/**
 * The sync of `npm run bench:sync` in a process of its own, as it runs in production (a Lambda
 * invocation, the ECS task, `switchyard sync`): the bench's writers, probes and pollers do not share
 * its event loop, and its peak RSS is its own. The bench forks this file; each `run` message is one
 * runSync, `stop` aborts the current one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { runSync, type SyncRunResult } from '../lambda/engine/sync';

export type SyncRunRequest = Omit<Parameters<typeof runSync>[0], 'signal'>;

type FromChild =
  | { type: 'done'; result: SyncRunResult; rssPeakBytes: number }
  | { type: 'failed'; name: string; message: string };

/** The parent's handle on the sync process. */
export class SyncProcess {
  private readonly child: ChildProcess;

  private constructor(heapMb: number) {
    // A heap cap, as a memory-limited runtime has: V8 collects sooner instead of growing its heap.
    const execArgv = [
      ...process.execArgv,
      ...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : []),
      ...(process.env.SY_CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.SY_CPU_PROF}`] : []),
    ];
    this.child = fork(__filename, ['--sync-process'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  /** `heapMb` > 0: the sync process's V8 old-space cap (`--max-old-space-size`); 0: V8's default. */
  static start(heapMb = 0): SyncProcess {
    return new SyncProcess(heapMb);
  }

  /** One runSync in the sync process: its result and the process's peak RSS during it. */
  run(opts: SyncRunRequest): Promise<{ result: SyncRunResult; rssPeakBytes: number }> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        this.child.off('exit', onExit);
        this.child.off('message', onMessage);
        if (m.type === 'done') resolve({ result: m.result, rssPeakBytes: m.rssPeakBytes });
        else reject(Object.assign(new Error(m.message), { name: m.name }));
      };
      const onExit = (code: number | null) => reject(new Error(`the sync process exited (code ${code})`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ type: 'run', opts });
    });
  }

  /** Abort the current run (it ends cleanly, as on its signal). */
  stop(): void {
    this.child.send({ type: 'stop' });
  }

  /** End the sync process (it exits when the channel closes). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The child: serve run/stop messages until the parent goes. */
function serve(): void {
  let ac = new AbortController();
  let peak = 0;
  setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { type: 'run'; opts: SyncRunRequest } | { type: 'stop' }) => {
    if (m.type === 'stop') return ac.abort();
    ac = new AbortController();
    peak = process.memoryUsage.rss();
    runSync({ ...m.opts, signal: ac.signal }).then(
      (result) => process.send?.({ type: 'done', result, rssPeakBytes: peak }),
      (e: Error) => process.send?.({ type: 'failed', name: e.name, message: e.message }),
    );
  });
}

if (process.argv.includes('--sync-process')) serve();
