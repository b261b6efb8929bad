import type { Client } from 'pg';
import { parseLsn } from './sync/pgoutput';
import { insertPosition } from './sync/positions';

/**
 * The server's average WAL rate (bytes/s): from pg_stat_wal since its last reset (14+, at least an
 * hour of history), else two readings of the insert position a second apart. Null when neither
 * is readable.
 */
export async function walBytesPerSecond(c: Client, sampleMs = 1000): Promise<number | null> {
  const stat = await c
    .query(`SELECT wal_bytes::float8 AS b, extract(epoch FROM now() - stats_reset)::float8 AS s FROM pg_stat_wal`)
    .catch(() => null);
  const row = stat?.rows[0] as { b: number | null; s: number | null } | undefined;
  if (row?.b != null && row.s != null && row.s >= 3600) return row.b / row.s;
  const at = async () => parseLsn(await insertPosition(c));
  try {
    const a = await at();
    await new Promise((r) => setTimeout(r, sampleMs));
    return Number((await at()) - a) / (sampleMs / 1000);
  } catch {
    return null;
  }
}
