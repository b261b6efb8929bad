import { z } from 'zod';
import { ERRORS } from '../../../lambda/core/errors';
import { PHASE } from '../../../lambda/phases';
import { createLogger } from '../../../lambda/handlers/support/logger';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { definePhase } from '../../../lambda/handlers/support/phase';
import { SchemaMismatchError } from '../../../lambda/engine/errors';

const deps = () => ({ stage: 'dev', log: createLogger({}, () => undefined), now: () => 0 }) as unknown as PhaseDeps;
const failing = (e: unknown) =>
  definePhase(PHASE.sync, z.object({}), async () => {
    throw e;
  }).make(deps);

describe('phase errors the state machine can act on', () => {
  test('GIVEN the driver reports a lost connection WHEN a phase fails THEN it fails as DatabaseUnreachableError (retried by the transient-db class), and the message names the phase', async () => {
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const err = (await failing(lost)({}).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe(ERRORS.DatabaseUnreachableError);
    expect(err.message).toMatch(/^Sync: the database connection failed: Connection terminated unexpectedly$/);
  });

  test('GIVEN a server shutdown (SQLSTATE 57P01) WHEN a phase fails THEN it is named DatabaseUnreachableError', async () => {
    const err = (await failing(
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    )({}).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe(ERRORS.DatabaseUnreachableError);
  });

  test('GIVEN a named error or a deterministic one WHEN a phase fails THEN it passes through unchanged', async () => {
    const named = new SchemaMismatchError('table x: missing');
    expect(await failing(named)({}).catch((e: unknown) => e)).toBe(named);
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(await failing(syntax)({}).catch((e: unknown) => e)).toBe(syntax);
  });

  test('GIVEN a database error quoting a row value WHEN it escapes a phase THEN the message, stack and log line carry no value (one redaction rule)', async () => {
    const lines: string[] = [];
    const logDeps = () =>
      ({ stage: 'dev', log: createLogger({}, (l: string) => lines.push(l)), now: () => 0 }) as unknown as PhaseDeps;
    const raw = Object.assign(new Error('invalid input syntax for type integer: "SECRET-4711"'), {
      code: '22P02',
      detail: 'Key (id)=(SECRET-4711) already exists.',
    });
    const phase = definePhase(PHASE.sync, z.object({}), async () => {
      throw raw;
    }).make(logDeps);
    const err = (await phase({}).catch((e: unknown) => e)) as Error & { detail?: string };
    expect(err.message).toBe('invalid input syntax for type integer: "…"');
    expect(`${err.message} ${err.stack} ${err.detail} ${lines.join('\n')}`).not.toContain('SECRET');
  });
});
