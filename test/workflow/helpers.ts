import { Template } from 'aws-cdk-lib/assertions';
import type { HttpProbe } from '../../lambda/core/verify/ports';
import { localDeps, type LocalWorld, localWorld, seedExampleConfig } from '../../lambda/rehearsal/local-deps';
import {
  type CfnTemplate,
  definitionFromTemplate,
  runLocally,
  type RunOptions,
} from '../../lambda/rehearsal/workflow-runner';
import { connect, type DbEndpoint } from '../../lambda/engine';
import { parse, stageFrom } from '../lib/helpers';
import { seededPair } from '../support/pg';

/** The Migration stack's template as CDK synthesizes it for a test stage (bundling skipped). */
let cached: CfnTemplate | undefined;
export function migrationTemplate(): CfnTemplate {
  cached ??= Template.fromStack(stageFrom(parse({ stageName: 'wf' })).migration).toJSON() as CfnTemplate;
  return cached;
}

/** The same stage with `sync.runner: ecs` (the long-running sync task; run in-process by the local world). */
let cachedEcs: CfnTemplate | undefined;
export function ecsSyncTemplate(): CfnTemplate {
  cachedEcs ??= Template.fromStack(
    stageFrom(parse({ stageName: 'wf', sync: { runner: 'ecs' } })).migration,
  ).toJSON() as CfnTemplate;
  return cachedEcs;
}

/** The service as the Smoke phase sees it in these tests: both sides answer every check the same way. */
export const answeringProbe: HttpProbe = {
  description: 'test service (both sides answer 200)',
  send: async () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}', ms: 1 }),
};

export async function freshWorld(rows: number, parts: Partial<LocalWorld> = {}): Promise<LocalWorld> {
  const { source, target } = await seededPair('w', rows);
  const world = localWorld(source, target, { probe: answeringProbe, ...parts });
  await seedExampleConfig(world);
  return world;
}

export async function run(
  machine: 'migrate' | 'rollback-traffic' | 'restore-data' | 'decommission' | 'keep-old-current',
  world: LocalWorld,
  input: unknown,
  opts: RunOptions = {},
) {
  const template = migrationTemplate();
  return runLocally(
    template,
    definitionFromTemplate(template, machine),
    () => ({ ...localDeps(world, { stage: 'wf' }), sleep: shortSettle }),
    input,
    opts,
  );
}

/**
 * The interpreter runs every Wait state in zero time; a drain's settle window inside its call
 * (2 s per late-write round) is shortened the same way, to at most 100 ms.
 */
const shortSettle = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 100)));

/** A fingerprint of the source data: any write to it changes this. */
export async function sourceFingerprint(db: DbEndpoint): Promise<string> {
  const c = await connect(db, { readOnly: true });
  try {
    const r = await c.query(
      `SELECT (SELECT sum(hashtextextended(m::text, 0)) FROM chat_messages m)::text || '/' || (SELECT sum(hashtextextended(s::text, 0)) FROM chat_sessions s)::text AS f`,
    );
    return r.rows[0].f as string;
  } finally {
    await c.end();
  }
}

export async function targetCount(db: DbEndpoint, table: string): Promise<number> {
  const c = await connect(db);
  try {
    const r = await c.query(`SELECT count(*)::int AS n FROM ${table}`).catch(() => ({ rows: [{ n: -1 }] }));
    return r.rows[0].n as number;
  } finally {
    await c.end();
  }
}

/** The last value handed out by the sequence behind `table.column` (0 when it has none). */
export async function sequenceLastValue(db: DbEndpoint, table: string, column: string): Promise<bigint> {
  const c = await connect(db);
  try {
    const seq = (await c.query(`SELECT pg_get_serial_sequence($1, $2) AS s`, [table, column])).rows[0].s as
      | string
      | null;
    if (!seq) return 0n;
    return BigInt((await c.query(`SELECT last_value::text AS v FROM ${seq}`)).rows[0].v as string);
  } finally {
    await c.end();
  }
}
