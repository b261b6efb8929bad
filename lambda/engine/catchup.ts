import { pipeline } from 'stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { DbEndpoint, readOnly, readOnlyQuery, withClient } from './db';
import { SpecError } from './errors';
import { FULL_RANGE, ql, qi, sourceFrom, sourceSelect, TableLayout, targetColumnList } from './sql';
import { targetKey, targetRelation } from './spec';

export interface CatchUpResult {
  readonly table: string;
  /** Rows upserted into the target by this pass. */
  readonly rowsUpserted: number;
  /** Watermark to pass to the next pass (text form of the source's watermark column). */
  readonly watermark: string | null;
  /** How far the source is ahead of `watermark` after the pass: seconds (time watermarks) or versions. */
  readonly lag: number;
  readonly lagUnit: 'seconds' | 'versions';
}

export interface CatchUpOptions {
  /** Watermark reached by the copy or the previous pass (from captureWatermark or a CatchUpResult). */
  readonly since: string | null;
  /** Re-read rows this much older than `since`, for writes whose transaction committed late. @default 5 */
  readonly overlapSeconds?: number;
}

const TEMPORAL = /^(timestamp|date)/;

async function watermarkType(layout: TableLayout, src: import('pg').Client): Promise<string> {
  const wm = layout.spec.watermark!;
  const probe = await src.query(`SELECT s.${qi(wm)} FROM ${sourceFrom(layout.spec)} LIMIT 0`);
  const r = await src.query(`SELECT format_type($1::oid, NULL) AS t`, [probe.fields[0].dataTypeID]);
  return r.rows[0].t as string;
}

/** The source's current watermark (its maximum), taken before a copy starts. */
export async function captureWatermark(layout: TableLayout, source: DbEndpoint): Promise<string | null> {
  if (!layout.spec.watermark) return null;
  return withClient(source, { readOnly: true }, async (src) => {
    const r = await readOnlyQuery(src, `SELECT max(s.${qi(layout.spec.watermark!)})::text AS m FROM ${sourceFrom(layout.spec)}`);
    return (r.rows[0].m as string | null) ?? null;
  });
}

/**
 * Upsert every source row whose watermark is newer than `since` (minus an
 * overlap) into the target: streamed with COPY into a temp table, then one
 * INSERT … ON CONFLICT, in one target transaction. Deletes are not seen here;
 * validation's bisect reports them.
 */
export async function catchUp(layout: TableLayout, source: DbEndpoint, target: DbEndpoint, opts: CatchUpOptions): Promise<CatchUpResult> {
  const t = layout.spec;
  if (!t.watermark) throw new SpecError(`table ${t.name} has no watermark column: catch-up needs one`);
  const wm = `s.${qi(t.watermark)}`;
  return withClient(source, { readOnly: true, applicationName: 'switchyard-catchup' }, (src) => readOnly(src, async () => {
    const type = await watermarkType(layout, src);
    const temporal = TEMPORAL.test(type);
    const lagUnit = temporal ? 'seconds' : 'versions';
    const upTo = (await src.query(`SELECT max(${wm})::text AS m FROM ${sourceFrom(t)}`)).rows[0].m as string | null;
    if (upTo === null) return { table: t.name, rowsUpserted: 0, watermark: opts.since, lag: 0, lagUnit };

    const lowerBound =
      opts.since === null
        ? 'TRUE'
        : temporal
          ? `${wm} > ${ql(opts.since)}::${type} - make_interval(secs => ${Number(opts.overlapSeconds ?? 5)})`
          : `${wm} > ${ql(opts.since)}::${type}`;
    const window = `${lowerBound} AND ${wm} <= ${ql(upTo)}::${type}`;
    const cols = targetColumnList(layout);
    const keys = targetKey(t).map(qi).join(', ');
    const updates = layout.columns.filter((c) => !targetKey(t).includes(c.name)).map((c) => `${qi(c.name)} = EXCLUDED.${qi(c.name)}`);

    const rowsUpserted = await withClient(target, { applicationName: 'switchyard-catchup' }, async (tgt) => {
      await tgt.query('BEGIN');
      try {
        await tgt.query(`CREATE TEMP TABLE switchyard_catchup ON COMMIT DROP AS SELECT ${cols} FROM ${qi(targetRelation(t))} WITH NO DATA`);
        await pipeline(
          src.query(copyTo(`COPY (${sourceSelect(layout, FULL_RANGE, window)}) TO STDOUT`)),
          tgt.query(copyFrom(`COPY switchyard_catchup (${cols}) FROM STDIN`)),
        );
        const r = await tgt.query(
          `INSERT INTO ${qi(targetRelation(t))} (${cols}) SELECT ${cols} FROM switchyard_catchup
           ON CONFLICT (${keys}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
        );
        await tgt.query('COMMIT');
        return r.rowCount ?? 0;
      } catch (e) {
        await tgt.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });

    const lagSql = temporal
      ? `SELECT coalesce(greatest(extract(epoch FROM max(${wm}) - ${ql(upTo)}::${type}), 0), 0)::float8 AS lag FROM ${sourceFrom(t)}`
      : `SELECT coalesce(greatest(max(${wm}) - ${ql(upTo)}::${type}, 0), 0)::float8 AS lag FROM ${sourceFrom(t)}`;
    const lag = Number((await src.query(lagSql)).rows[0].lag);
    return { table: t.name, rowsUpserted, watermark: upTo, lag, lagUnit };
  }));
}
