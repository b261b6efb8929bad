#!/usr/bin/env node
/**
 * npm run rehearse [-- --rows N --fail-at <State> --unhealthy-at <weight> --source <postgres url> --spec <file> --bake <s> --json --keep --old-pg N --new-pg N]
 *
 * The whole migration on this machine, no AWS account: embedded PostgreSQL, the Migrate state
 * machine as CDK synthesizes it, the same handler code with local adapters, real HTTP traffic.
 */
import { synthesizeMigrationTemplate } from '../lib/local-template';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHAT_APP_VERIFICATION, GENERIC_APP_VERIFICATION } from '../lambda/rehearsal/chat-verification';
import { renderHtmlReport } from '../lambda/rehearsal/html-report';
import { formatReport } from '../lambda/rehearsal/report';
import { rehearse, type RehearsalOptions } from '../lambda/rehearsal/rehearse';

const USAGE = `usage: npm run rehearse -- [options]
  --rows N                  chat messages to seed (default 100000)
  --writes-per-second N     writes through the router, all clients together (default 100)
  --read-only               clients only read (implied by --source)
  --fail-at <State>         make this task state of the Migrate workflow fail
  --unhealthy-at <weight>   the new app answers 500 once it serves this percentage
  --operator-rollback-at <weight>  an operator starts RollbackTraffic while this step bakes (Migrate must end halted)
  --slow-at <weight>        the new app gets slower once it serves this percentage (with --latency-ms N, default 50)
  --break <route>           the new app answers this read route differently, e.g. "GET /messages/:id"
  --source <postgres url>   rehearse against a copy of your own database (only read; without --spec its tables are introspected)
  --spec <file>             your migration spec (JSON)
  --bake <seconds>          seconds each traffic step bakes (default 1)
  --report <file.html>      also write the report as one self-contained HTML page
  --json                    print the report as JSON on stdout
  --keep                    keep the embedded databases running until Enter or Ctrl-C, and their data directory
  --old-pg N / --new-pg N   PostgreSQL major (13-18) of each side's embedded server: an upgrade rehearsal (default 18)
example: npm run rehearse -- --rows 20000 --unhealthy-at 25`;

function parse(argv: string[]): Omit<RehearsalOptions, 'template'> & { json: boolean; reportFile?: string } {
  const o: { -readonly [K in keyof RehearsalOptions]?: RehearsalOptions[K] } & { json: boolean; reportFile?: string } =
    { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const int = (min: number, max: number) => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max)
        throw new Error(`${a} must be an integer from ${min} to ${max}, got: ${v}`);
      return n;
    };
    if (a === '--rows') o.rows = int(100, 50_000_000);
    else if (a === '--fail-at') o.failAt = value();
    else if (a === '--unhealthy-at') o.unhealthyAt = int(1, 100);
    else if (a === '--operator-rollback-at') o.operatorRollbackAt = int(1, 100);
    else if (a === '--source') o.source = value();
    else if (a === '--spec') o.specFile = value();
    else if (a === '--bake') o.bakeSeconds = int(0, 600);
    else if (a === '--writes-per-second') o.writesPerSecond = int(1, 5000);
    else if (a === '--read-only') o.readOnly = true;
    else if (a === '--slow-at') o.slowAt = int(1, 100);
    else if (a === '--latency-ms') o.latencyMs = int(1, 60_000);
    else if (a === '--break') o.breakRoute = value();
    else if (a === '--report') o.reportFile = value();
    else if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--old-pg') o.oldPg = int(13, 18);
    else if (a === '--new-pg') o.newPg = int(13, 18);
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option: ${a}\n${USAGE}`);
  }
  return o;
}

async function main() {
  const args = parse(process.argv.slice(2));
  const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);
  const abort = new AbortController();
  let interrupts = 0;
  let release: (() => void) | undefined;
  process.on('SIGINT', () => {
    if (release) return release(); // --keep: Ctrl-C ends the wait, then the databases stop
    interrupts++;
    if (interrupts > 1) process.exit(130);
    log('stopping: finishing the current step, then cleaning up (Ctrl-C again to quit at once) ...');
    abort.abort();
  });
  // --keep: the databases stay up until Enter (or Ctrl-C).
  const holdOpen = () =>
    new Promise<void>((resolve) => {
      release = resolve;
      if (!process.stdin.isTTY) return; // nobody to press Enter: Ctrl-C / SIGTERM ends the wait
      process.stdin.resume();
      process.stdin.once('data', () => resolve());
    }).finally(() => process.stdin.pause());
  process.on('SIGTERM', () => (release ? release() : abort.abort()));
  log('synthesizing the Migrate state machine (dev stage) ...');
  // Your own database or spec: the apps serve the generic read by key, and Smoke checks that instead of the chat routes.
  const template = synthesizeMigrationTemplate('dev', {
    verification: args.source || args.specFile ? GENERIC_APP_VERIFICATION : CHAT_APP_VERIFICATION,
  });
  const report = await rehearse({
    ...args,
    template,
    progress: log,
    signal: abort.signal,
    ownProcessGroup: true,
    holdOpen,
  });
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else log(formatReport(report));
  if (args.reportFile) {
    fs.writeFileSync(args.reportFile, renderHtmlReport(report));
    log(`HTML report: ${path.resolve(args.reportFile)}`);
  }
  process.exit(abort.signal.aborted ? 130 : report.expected ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`rehearse failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(2);
});
