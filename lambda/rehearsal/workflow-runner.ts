import './promise-polyfill';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { DepsFactory } from '../handlers/support/deps';
import { PHASE_HANDLERS } from '../handlers/registry';
import {
  type AnswerRequest,
  answerPause,
  type PauseAnswer,
  NotPausedError,
  type PauseStore,
} from '../core/traffic/pause';

/** A CloudFormation template (as `Template.toJSON()` or the synthesized file). */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

type AslState = {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Seconds?: number;
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
};
export type AslDefinition = { StartAt: string; States: Record<string, AslState> };

const FAKE_ACCOUNT = '123456789012';
const FAKE_REGION = 'us-east-1';

/** Replace CloudFormation intrinsics in a definition string with stand-in ARNs that name the logical id. */
function resolveIntrinsics(node: unknown, template: CfnTemplate): string {
  if (typeof node === 'string') return node;
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, template)).join(sep);
  }
  if (o['Fn::ImportValue'])
    return `arn:aws:local:${FAKE_REGION}:${FAKE_ACCOUNT}:import/${String(o['Fn::ImportValue']).split(':').pop()}`;
  const ref = (o.Ref ?? (o['Fn::GetAtt'] as string[] | undefined)?.[0]) as string | undefined;
  if (ref === 'AWS::Partition') return 'aws';
  if (ref === 'AWS::Region') return FAKE_REGION;
  if (ref === 'AWS::AccountId') return FAKE_ACCOUNT;
  if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
  if (ref) {
    const type = template.Resources[ref]?.Type;
    if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${ref}`;
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${FAKE_REGION}:${FAKE_ACCOUNT}:${ref}`;
    return `arn:aws:local:${FAKE_REGION}:${FAKE_ACCOUNT}:${ref}`;
  }
  throw new Error(`cannot resolve intrinsic ${JSON.stringify(node).slice(0, 120)}`);
}

/** The synthesized ASL of a state machine in a template, with its tokens resolved to stand-in ARNs. */
export function definitionFromTemplate(template: CfnTemplate, stateMachineName: string): AslDefinition {
  const sm = Object.values(template.Resources).find(
    (r) =>
      r.Type === 'AWS::StepFunctions::StateMachine' &&
      String((r.Properties as { StateMachineName?: string }).StateMachineName).endsWith(stateMachineName),
  );
  if (!sm) throw new Error(`no state machine named *${stateMachineName} in the template`);
  const def = JSON.parse(
    resolveIntrinsics((sm.Properties as { DefinitionString: unknown }).DefinitionString, template),
  ) as AslDefinition & { TimeoutSeconds?: number };
  // The interpreter times the execution with one Node timer, which cannot wait longer than 2^31 - 1 ms
  // (about 24.8 days: a longer one fires at once). A local run never comes near either limit.
  if (def.TimeoutSeconds !== undefined && def.TimeoutSeconds > MAX_LOCAL_TIMEOUT_SECONDS)
    def.TimeoutSeconds = MAX_LOCAL_TIMEOUT_SECONDS;
  return def;
}

const MAX_LOCAL_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function allStates(states: Record<string, AslState>): [string, AslState][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, AslState],
    ...allStates((s.ItemProcessor ?? s.Iterator)?.States ?? {}),
  ]);
}

/** What happened in one local execution. */
export interface LocalExecution {
  /** ABORTED: stopped by `abortBefore` (as StopExecution does on AWS: no further state runs). */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** The execution's id (`$$.Execution.Id`), as the EventBridge status-change event carries it. */
  readonly executionArn: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Task states in the order they ran, with their duration. */
  readonly steps: { state: string; phase: string; ms: number; ok: boolean }[];
  /** Messages published to the notification topic. */
  readonly notifications: Record<string, unknown>[];
  /** Direct AWS SDK integrations the definition called (e.g. ecs:updateService), recorded, not executed. */
  readonly awsCalls: { resource: string; input: unknown }[];
}

export interface RunOptions {
  /** Called before each task (inject faults: throw to fail that state). */
  readonly beforeTask?: (state: string, phase: string, input: unknown) => void | Promise<void>;
  readonly onStep?: (step: {
    state: string;
    phase: string;
    ms: number;
    ok: boolean;
    output?: unknown;
    error?: string;
  }) => void;
  /** Every SNS publish fails (as with a topic key that does not grant the publisher). */
  readonly failNotifications?: boolean;
  /** Stop the execution (StopExecution) before this task state runs; it then ends ABORTED. */
  readonly abortBefore?: (state: string) => boolean;
  /** The execution's name (its id ends with it). @default - the migration id and a number unique in this process */
  readonly executionName?: string;
  /** Milliseconds a Wait state really waits (default 0 for every Wait). */
  readonly waitMs?: (state: string) => number | undefined;
  /**
   * Where a `.waitForTaskToken` task's token is answered (SendTaskSuccess / SendTaskFailure).
   * @default - a private one: an unanswered task holds until its TimeoutSeconds
   */
  readonly taskTokens?: LocalTaskTokens;
  /** Stop the execution (StopExecution) when this aborts, wherever it is (e.g. while a pause holds); it ends ABORTED. */
  readonly stopSignal?: AbortSignal;
  /** Answer every operator pause this long after it began, as `switchyard resume|abort` does. @default - never */
  readonly answerPauses?: AutoAnswer;
}

/** The rehearsal's operator: resume or abort each pause after `afterMs`, through the pause store (as the CLI reads DynamoDB). */
export interface AutoAnswer {
  readonly action: 'resume' | 'abort';
  readonly afterMs: number;
  readonly store: PauseStore;
  readonly stage: string;
  /** Told each answer (or the error that kept it from being given). */
  readonly onAnswer?: (answer: PauseAnswer | Error) => void;
}

/** A task failed by SendTaskFailure: its name is the error a Catch matches. */
class TaskFailure extends Error {
  constructor(
    public override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The tasks waiting for a task token in local executions, answered as Step Functions' SendTaskSuccess
 * and SendTaskFailure answer them on AWS (the local stand-in for the states API the CLI calls).
 */
export class LocalTaskTokens {
  private readonly waiting = new Map<string, { resolve(output: unknown): void; reject(e: Error): void }>();
  private issued = 0;

  /** A new token and the promise its answer settles (the task's result). */
  issue(): { token: string; answered: Promise<unknown> } {
    const token = `local-task-token-${++this.issued}-${Math.random().toString(36).slice(2)}`;
    const answered = new Promise<unknown>((resolve, reject) => this.waiting.set(token, { resolve, reject }));
    return { token, answered };
  }

  /** SendTaskSuccess: false when no task waits for the token (answered already, or its execution moved on). */
  succeed(token: string, output: unknown): boolean {
    const w = this.waiting.get(token);
    this.waiting.delete(token);
    w?.resolve(output);
    return Boolean(w);
  }

  /** SendTaskFailure: the task fails with `error` (what its Catch matches) and `cause`. */
  fail(token: string, error: string, cause: string): boolean {
    const w = this.waiting.get(token);
    this.waiting.delete(token);
    w?.reject(new TaskFailure(error, cause));
    return Boolean(w);
  }

  /**
   * The execution ended otherwise (stopped, timed out): the token answers nothing any more. Its task
   * settles quietly, so the interpreter clears its state timer (nothing runs after a stop).
   */
  cancel(token: string): void {
    const w = this.waiting.get(token);
    this.waiting.delete(token);
    w?.resolve({});
  }
}

/**
 * `switchyard resume|abort` against a local run: read the held step from the pause store, the same
 * decision (lambda/core/traffic/pause.ts), then answer its token and clear the record.
 */
export async function answerLocalPause(
  store: PauseStore,
  tokens: LocalTaskTokens,
  req: AnswerRequest,
): Promise<PauseAnswer> {
  const record = await store.read(req.stage, req.migrationId);
  const answer = answerPause(record, req);
  const delivered =
    answer.kind === 'resume'
      ? tokens.succeed(answer.taskToken, answer.output)
      : tokens.fail(answer.taskToken, answer.error, answer.cause);
  await store.clear(req.stage, req.migrationId, answer.taskToken);
  if (!delivered)
    throw new NotPausedError(
      `the pause of migration ${req.migrationId} on stage ${req.stage} has already ended (answered, timed out or stopped)`,
    );
  return answer;
}

/**
 * Run a synthesized definition with the local interpreter, binding every Lambda
 * Task to the same handler code the functions run (by the function's `Handler`
 * in the template) over the given deps, SNS publishes to an in-memory list, and
 * every Wait to zero.
 */
/** Names of the Lambda Task states (including inside Maps): the states a fault can be injected into. */
export function taskStateNames(definition: AslDefinition): string[] {
  return allStates(definition.States)
    .filter(([, s]) => s.Type === 'Task' && String(s.Resource).includes(':function:'))
    .map(([n]) => n);
}

let executions = 0;

export async function runLocally(
  template: CfnTemplate,
  definition: AslDefinition,
  deps: DepsFactory,
  input: unknown,
  opts: RunOptions = {},
): Promise<LocalExecution> {
  const record: Recorded = { steps: [], notifications: [], awsCalls: [] };
  const tokens = opts.taskTokens ?? new LocalTaskTokens();
  const pauses = new HeldPauses(tokens, opts.answerPauses, input);
  // StopExecution from inside a task (`abortBefore`): bound once the execution exists.
  const control: { abort: () => void } = { abort: () => undefined };
  const { handlers, waits, retries } = bindStates(template, definition, deps, opts, {
    record,
    tokens,
    pauses,
    control,
  });
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: false } });
  const context = executionContext(input, opts.executionName);
  const executionArn = context.Execution.Id;
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    } as never,
    context: context as never,
  });
  control.abort = () => execution.abort();
  const stop = () => {
    execution.abort();
    setImmediate(() => pauses.cancelAll());
  };
  opts.stopSignal?.addEventListener('abort', stop, { once: true });
  try {
    return { executionArn, ...record, ...(await settle(execution.result)) };
  } finally {
    opts.stopSignal?.removeEventListener('abort', stop);
    pauses.cancelAll();
  }
}

/** What a local execution records while it runs. */
type Recorded = Pick<LocalExecution, 'steps' | 'notifications' | 'awsCalls'>;

/** The `.waitForTaskToken` tokens an execution holds, and the rehearsal's automatic answer to a pause. */
class HeldPauses {
  private readonly holding: string[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly tokens: LocalTaskTokens,
    private readonly answer: RunOptions['answerPauses'],
    private readonly input: unknown,
  ) {}

  /** A task now waits on `token`; with `answerPauses`, answer it after the configured delay. */
  hold(token: string): void {
    this.holding.push(token);
    const a = this.answer;
    if (!a) return;
    const migrationId = String((this.input as { migrationId?: unknown } | null)?.migrationId ?? '');
    this.timers.push(
      setTimeout(() => {
        answerLocalPause(a.store, this.tokens, { stage: a.stage, migrationId, action: a.action, now: new Date() }).then(
          (answer) => a.onAnswer?.(answer),
          (e: Error) => a.onAnswer?.(e),
        );
      }, a.afterMs),
    );
  }

  /** The execution ended: no timer outlives it, no token stays open. */
  cancelAll(): void {
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.holding) this.tokens.cancel(t);
  }
}

interface Binding {
  readonly record: Recorded;
  readonly tokens: LocalTaskTokens;
  readonly pauses: HeldPauses;
  readonly control: { abort: () => void };
}

/** Every Task bound to its local handler (phase functions, SNS publishes, SDK calls); every Wait and retry timed. */
function bindStates(template: CfnTemplate, definition: AslDefinition, deps: DepsFactory, opts: RunOptions, b: Binding) {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const [name, state] of allStates(definition.States)) {
    if (state.Type === 'Wait') waits[name] = opts.waitMs?.(name) ?? 0;
    if (state.Type !== 'Task') continue;
    retries[name] = 0;
    const resource = String(state.Resource);
    if (resource.startsWith('arn:aws:states:::sns:publish')) {
      handlers[name] = async (msg) => {
        if (opts.failNotifications)
          throw Object.assign(new Error('the topic key does not grant kms:GenerateDataKey to the publisher'), {
            name: 'KMS.KMSAccessDeniedException',
          });
        const m = (msg as { Message?: unknown }).Message;
        b.record.notifications.push((typeof m === 'string' ? JSON.parse(m) : m) as Record<string, unknown>);
        return {};
      };
      continue;
    }
    if (resource.includes(':::aws-sdk:')) {
      handlers[name] = async (callInput) => {
        b.record.awsCalls.push({ resource: resource.split(':::aws-sdk:')[1], input: callInput });
        return {};
      };
      continue;
    }
    handlers[name] = phaseTask(template, name, state, deps, opts, b);
  }
  return { handlers, waits, retries };
}

/** A Task that invokes a phase function: the handler bound by its `Handler`, timed and recorded; a token task waits for its answer. */
function phaseTask(
  template: CfnTemplate,
  name: string,
  state: { Resource?: unknown; Parameters?: Record<string, unknown> },
  deps: DepsFactory,
  opts: RunOptions,
  b: Binding,
) {
  const resource = String(state.Resource);
  const waitsForToken = resource.endsWith(':lambda:invoke.waitForTaskToken');
  const target = waitsForToken ? String(state.Parameters?.FunctionName ?? '') : resource;
  const logicalId = target.split(':function:')[1];
  const handlerName = String(template.Resources[logicalId]?.Properties?.Handler ?? '').replace(/^index\./, '');
  const phase = PHASE_HANDLERS[handlerName as keyof typeof PHASE_HANDLERS];
  if (!phase) throw new Error(`task ${name} invokes ${target}, which is not a known phase function`);
  const invoke = phase.make(deps);
  // `.waitForTaskToken`: the function gets the Payload with a token of its own; the task's result is the token's answer.
  const run = waitsForToken
    ? async (taskInput: unknown) => {
        const { token, answered } = b.tokens.issue();
        await invoke({ ...(taskInput as { Payload: object }).Payload, taskToken: token });
        b.pauses.hold(token);
        return answered;
      }
    : (taskInput: unknown) => invoke(taskInput, { getRemainingTimeInMillis: () => 900_000 });
  return async (taskInput: unknown) => {
    if (opts.abortBefore?.(name)) {
      // StopExecution: the execution ends here; the task settles (so the interpreter clears its state timer) but nothing runs after it.
      b.control.abort();
      return new Promise((resolve) => setImmediate(() => resolve({})));
    }
    const t0 = Date.now();
    try {
      await opts.beforeTask?.(name, handlerName, taskInput);
      const out = await run(taskInput);
      const step = { state: name, phase: handlerName, ms: Date.now() - t0, ok: true };
      b.record.steps.push(step);
      opts.onStep?.({ ...step, output: out });
      return out;
    } catch (e) {
      const step = { state: name, phase: handlerName, ms: Date.now() - t0, ok: false };
      b.record.steps.push(step);
      opts.onStep?.({ ...step, error: `${(e as Error).name}: ${(e as Error).message}` });
      throw e;
    }
  };
}

/** `$$` of a local execution: every local execution is its own lock owner, as on AWS (two never share an id). */
function executionContext(input: unknown, executionName?: string) {
  const name =
    executionName ?? `${String((input as { migrationId?: unknown } | null)?.migrationId ?? 'local')}-${++executions}`;
  return {
    Execution: {
      Id: `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:execution:local:${name}`,
      Name: name,
      Input: input,
      StartTime: new Date().toISOString(),
    },
    StateMachine: { Id: `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:local`, Name: 'local' },
    // `$$.Task.Token` resolves; each `.waitForTaskToken` task gets its own token from `tokens` instead.
    Task: { Token: 'local-task-token' },
  };
}

/** How the interpreter's result ends the execution: SUCCEEDED, ABORTED, or FAILED with the error and cause. */
async function settle(result: Promise<unknown>): Promise<Omit<LocalExecution, 'executionArn' | keyof Recorded>> {
  try {
    return { status: 'SUCCEEDED', output: await result };
  } catch (e) {
    if (e instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    if (!(e instanceof ExecutionError)) throw e;
    const cause = (e as { cause?: { name?: string; message?: string; errorName?: string; errorCause?: string } }).cause;
    const { error, detail } = describeFailure(e, cause);
    return { status: 'FAILED', error, cause: detail };
  }
}

function describeFailure(
  e: Error,
  cause?: { name?: string; message?: string; errorName?: string; errorCause?: string },
) {
  // aws-local-stepfunctions wraps the state error; a Fail state carries its Error/Cause, a task error its name/message.
  const c = cause as Record<string, unknown> | undefined;
  const error = String(c?.errorName ?? c?.name ?? e.name);
  const detail = String(c?.errorCause ?? c?.message ?? e.message);
  return { error, detail };
}

/** The rehearsal's pause drill (`--pause-at`, `--abort-at-pause`): an operator who answers each pause by itself. */
export interface PauseDrillOptions {
  /** Hold Migrate after the health gate of the step at this weight (a step of the schedule). */
  readonly pauseAt?: number;
  /** Abort the pause instead of resuming it: the abort drill (traffic back to 100 % old, MigrationAbortedError). */
  readonly abortAtPause?: boolean;
  /** Seconds the rehearsal's operator waits before answering a pause. @default 3 */
  readonly pauseSeconds?: number;
}

/** Why the drill's options do not fit together (undefined when they do). */
export function pauseDrillProblem(o: PauseDrillOptions): string | undefined {
  if (o.abortAtPause && o.pauseAt === undefined) return '--abort-at-pause needs --pause-at <weight>';
  if (o.pauseAt !== undefined && !(Number.isInteger(o.pauseAt) && o.pauseAt >= 1 && o.pauseAt <= 100))
    return `--pause-at must be a percentage from 1 to 100 (a step of the schedule), got: ${o.pauseAt}`;
  return undefined;
}

/** The execution input of the drill: `pauseAt` for ValidateInput. */
export function pauseDrillInput(o: PauseDrillOptions): { pauseAt?: number[] } {
  return o.pauseAt === undefined ? {} : { pauseAt: [o.pauseAt] };
}

/** The run options of the drill: answer each pause after `pauseSeconds`, as `switchyard resume|abort` would. */
export function pauseDrill(
  o: PauseDrillOptions,
  store: PauseStore | undefined,
  stage: string,
  say: (line: string) => void,
): Pick<RunOptions, 'answerPauses'> {
  if (o.pauseAt === undefined || !store) return {};
  const action = o.abortAtPause ? 'abort' : 'resume';
  const seconds = o.pauseSeconds ?? 3;
  say(`operator: will ${action} the pause at ${o.pauseAt} % ${seconds} s after it begins`);
  return {
    answerPauses: {
      action,
      afterMs: seconds * 1000,
      store,
      stage,
      onAnswer: (a) =>
        say(
          a instanceof Error
            ? `operator: ${action} failed - ${a.name}: ${a.message}`
            : `operator: ${a.kind === 'resume' ? 'resumed' : 'aborted'} the pause (switchyard ${action})`,
        ),
    },
  };
}
