import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHAT_APP_VERIFICATION, GENERIC_APP_VERIFICATION } from '../../lambda/rehearsal/chat-verification';
import { renderHtmlReport } from '../../lambda/rehearsal/html-report';
import { formatReport } from '../../lambda/rehearsal/report';
import { RehearsalInputError, type RehearsalOptions, rehearse } from '../../lambda/rehearsal/rehearse';
import { synthesizeMigrationTemplate } from '../../lib/local-template';
import { UsageError } from './errors';

export type RehearseCommandOptions = Omit<RehearsalOptions, 'template'> & { json?: boolean; reportFile?: string };

export interface RehearseIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal: AbortSignal;
  /** Standard input, for --keep's "press Enter". @default - none: only a signal ends the wait */
  readonly stdin?: NodeJS.ReadStream;
}

/** --keep: the databases stay up until Enter (on a terminal) or the first Ctrl-C / SIGTERM. */
function holdOpen(io: RehearseIo): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
      if (!io.stdin?.isTTY) return;
      io.stdin.resume();
      io.stdin.once('data', () => resolve());
    }).finally(() => io.stdin?.pause());
}

/**
 * `switchyard rehearse` (npm run rehearse): the whole migration on this machine. Exit 0 when the
 * outcome is the expected one, or when Ctrl-C / SIGTERM stopped it cleanly (the summary printed);
 * 1 otherwise; a bad flag value is a UsageError (2).
 */
export async function rehearseCommand(o: RehearseCommandOptions, io: RehearseIo): Promise<number> {
  const log = (line: string) => (o.json ? io.stderr : io.stdout).write(`${line}\n`);
  const onAbort = () =>
    log('stopping: finishing the current step, then cleaning up (Ctrl-C again to quit at once) ...');
  io.signal.addEventListener('abort', onAbort, { once: true });
  log('synthesizing the Migrate state machine (dev stage) ...');
  // Your own database or spec: the apps serve the generic read by key, and Smoke checks that instead of the chat routes.
  const template = synthesizeMigrationTemplate('dev', {
    verification: o.source || o.specFile ? GENERIC_APP_VERIFICATION : CHAT_APP_VERIFICATION,
    ...(o.syncRunner ? { sync: { runner: o.syncRunner } } : {}),
  });
  const { json, reportFile, ...opts } = o;
  let report: Awaited<ReturnType<typeof rehearse>>;
  try {
    report = await rehearse({
      ...opts,
      template,
      progress: log,
      signal: io.signal,
      ownProcessGroup: true,
      holdOpen: holdOpen(io),
    });
  } catch (e) {
    if (e instanceof RehearsalInputError) throw new UsageError(e.message);
    throw e;
  }
  const stoppedEarly = io.signal.aborted && report.outcome !== 'completed';
  if (json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else log(formatReport(report));
  if (reportFile) {
    fs.writeFileSync(reportFile, renderHtmlReport(report));
    log(`HTML report: ${path.resolve(reportFile)}`);
  }
  if (stoppedEarly) log('stopped by you: the summary above is of the part that ran');
  return stoppedEarly ? 0 : report.expected ? 0 : 1;
}
