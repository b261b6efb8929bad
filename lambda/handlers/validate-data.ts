import { z } from 'zod';
import { describeTablesWith, IntegrityMismatchError, type KeyDifferences } from '../engine';
import { validateManyUnderWrites } from '../engine/validate-under-writes';
import { getSpec } from '../engine/specs';
import { COPY_CONCURRENCY } from '../core/limits';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { specTable } from './support/spec-table';
import { stopSyncTasks } from './sync-actions/task';

/** Stop this long before the Lambda's own timeout: ValidationIncompleteError instead of a killed invocation. */
const SAFETY_MS = 60_000;

/** Validate every table (or one): counts + checksums; a mismatch fails with the differing keys named. */
export const validateData = definePhase(
  PHASE.validateData,
  z.object({
    migrationId,
    table: z.string().optional(),
    concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(1),
  }),
  async (i, deps, context) => {
    // The rechecks apply the captures up to a position themselves: a sync task (sync.runner ecs) stops first.
    await stopSyncTasks(deps, i.migrationId);
    const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
    const spec = getSpec(deps.specName);
    const tables = i.table ? [specTable(deps.specName, i.table)] : spec.tables;
    const results: {
      name: string;
      sourceRows: number;
      targetRows: number;
      sourceHash: string;
      targetHash: string;
      match: boolean;
      differences: KeyDifferences;
      keysRechecked: number;
      stillChanging: number;
    }[] = [];
    // The service keeps writing: the differing tables share the recheck rounds, one sync run per round.
    const remaining = context?.getRemainingTimeInMillis?.();
    const layouts = await describeTablesWith(tables, source, target, { concurrency: i.concurrency });
    const checked = await validateManyUnderWrites(layouts, source, target, {
      runId: i.migrationId,
      concurrency: i.concurrency,
      migrationId: i.migrationId,
      spec,
      deadline: remaining ? Date.now() + remaining - SAFETY_MS : undefined,
    });
    for (const r of checked) {
      const v = r.validation;
      results.push({
        name: v.table,
        sourceRows: v.source.rows,
        targetRows: v.target.rows,
        sourceHash: v.source.hash,
        targetHash: v.target.hash,
        match: r.match,
        differences: r.mismatches,
        keysRechecked: r.keysRechecked,
        stillChanging: r.stillChanging,
      });
    }
    const bad = results.filter((r) => !r.match);
    if (bad.length) {
      const describe = (r: (typeof results)[number]) =>
        `${r.name} (source ${r.sourceRows} rows, target ${r.targetRows}; missing ` +
        `${JSON.stringify(r.differences.missing.slice(0, 5))}, extra ` +
        `${JSON.stringify(r.differences.extra.slice(0, 5))}, changed ` +
        `${JSON.stringify(r.differences.changed.slice(0, 5))}` +
        `${r.differences.truncated ? '; more keys differ than were listed' : ''})`;
      throw new IntegrityMismatchError(`validation failed for ${bad.map(describe).join('; ')}`);
    }
    const rowsValidated = results.reduce((n, r) => n + r.sourceRows, 0);
    const keysRechecked = results.reduce((n, r) => n + r.keysRechecked, 0);
    return {
      match: true,
      rowsValidated,
      keysRechecked,
      mismatches: 0,
      tables: results.map(({ differences: _d, ...r }) => r),
    };
  },
);
