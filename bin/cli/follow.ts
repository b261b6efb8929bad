import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ExecutionFailedError, InterruptedError } from './errors';

export interface FollowOptions {
  readonly print: (line: string) => void;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Give up following after this many polls (the execution keeps running). @default unlimited */
  readonly maxPolls?: number;
  /** Aborted on Ctrl-C: stop following (the execution keeps running) with InterruptedError. */
  readonly signal?: AbortSignal;
  /** The stage, for the hint printed when following stops. */
  readonly stage?: string;
}

/** Wait ms, or less if the signal aborts. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Print each state as it starts and ends until the execution finishes; throws ExecutionFailedError with its error and cause. */
export async function follow(
  sfn: SFNClient,
  executionArn: string,
  opts: FollowOptions,
): Promise<{ status: string; output?: unknown }> {
  const sleep = opts.sleep ?? ((ms: number) => abortableSleep(ms, opts.signal));
  const stopIfAborted = () => {
    if (opts.signal?.aborted) {
      throw new InterruptedError(
        `stopped following ${executionArn}; the execution keeps running: check it with ` +
          `\`status${opts.stage ? ` --stage ${opts.stage}` : ''}\` or the Step Functions console`,
      );
    }
  };
  const seen = new Set<number>();
  const entered = new Map<string, number>();
  for (let poll = 0; opts.maxPolls === undefined || poll < opts.maxPolls; poll++) {
    stopIfAborted();
    let nextToken: string | undefined;
    do {
      const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 200 }));
      for (const ev of h.events ?? []) {
        if (seen.has(Number(ev.id))) continue;
        seen.add(Number(ev.id));
        describeEvent(ev, entered, opts.print);
      }
      nextToken = h.nextToken;
    } while (nextToken);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') {
      if (d.status === 'SUCCEEDED') {
        opts.print(`execution SUCCEEDED`);
        return { status: d.status, output: d.output ? JSON.parse(d.output) : undefined };
      }
      throw new ExecutionFailedError(
        `execution ${d.status}: ${d.error ?? 'unknown error'}${d.cause ? ` - ${d.cause}` : ''}`,
      );
    }
    await sleep(opts.pollMs ?? 3000);
    stopIfAborted();
  }
  return { status: 'RUNNING' };
}

function describeEvent(ev: HistoryEvent, entered: Map<string, number>, print: (l: string) => void) {
  const t = ev.timestamp ? new Date(ev.timestamp).toISOString().slice(11, 19) : '';
  if (ev.stateEnteredEventDetails?.name) {
    entered.set(ev.stateEnteredEventDetails.name, ev.timestamp ? new Date(ev.timestamp).getTime() : 0);
    return;
  }
  const exited = ev.stateExitedEventDetails?.name;
  if (exited && /^[A-Z]/.test(exited) && !/\?$/.test(exited)) {
    const start = entered.get(exited);
    const ms = start && ev.timestamp ? new Date(ev.timestamp).getTime() - start : undefined;
    print(`${t} ok    ${exited}${ms !== undefined ? ` (${(ms / 1000).toFixed(1)} s)` : ''}`);
  }
  if (ev.type === 'TaskFailed' || ev.type === 'LambdaFunctionFailed') {
    const d = ev.taskFailedEventDetails ?? ev.lambdaFunctionFailedEventDetails;
    print(`${t} FAIL  ${d?.error ?? 'error'}: ${d?.cause?.slice(0, 300) ?? ''}`);
  }
}
