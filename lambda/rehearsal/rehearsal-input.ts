import type { DbEndpoint } from '../engine';
import { parsePostgresUrl } from '../engine/postgres-url';
import type { RehearsalOptions } from './rehearse';
import { type AslDefinition, pauseDrillProblem, taskStateNames } from './workflow-runner';

export class RehearsalInputError extends Error {
  public readonly name = 'RehearsalInputError';
}

/** The read routes of the chat app that `--break` can name. */
const READ_ROUTES = ['GET /messages/:id', 'GET /health', 'GET /items/:n'];

/** Refuse options that name no state, percentage or route of this rehearsal, before anything starts. */
export function checkRehearsalOptions(opts: RehearsalOptions, definition: AslDefinition): void {
  if (opts.failAt && !taskStateNames(definition).includes(opts.failAt)) {
    throw new RehearsalInputError(
      `--fail-at must name a task state of the Migrate workflow, got: ${opts.failAt}; ` +
        `states: ${taskStateNames(definition).join(', ')}`,
    );
  }
  for (const [flag, v] of [
    ['--unhealthy-at', opts.unhealthyAt],
    ['--slow-at', opts.slowAt],
    ['--operator-rollback-at', opts.operatorRollbackAt],
  ] as const) {
    if (v !== undefined && !(v >= 1 && v <= 100))
      throw new RehearsalInputError(`${flag} must be a percentage from 1 to 100, got: ${v}`);
  }
  const pauseProblem = pauseDrillProblem(opts);
  if (pauseProblem) throw new RehearsalInputError(pauseProblem);
  if (opts.breakRoute !== undefined && !READ_ROUTES.includes(opts.breakRoute))
    throw new RehearsalInputError(
      `--break must name a read route of the chat app, got: ${opts.breakRoute}; routes: ${READ_ROUTES.join(', ')}`,
    );
}

/** The endpoint of `--source`, or the usage error saying what a URL looks like. */
export function sourceEndpoint(url: string): DbEndpoint {
  const r = parsePostgresUrl(url);
  if ('endpoint' in r) return r.endpoint;
  throw new RehearsalInputError(
    r.problem === 'not-a-url'
      ? '--source must be a postgres:// URL like postgres://user:password@host:5432/db'
      : `--source must be a postgres:// URL, got protocol: ${r.protocol}`,
  );
}
