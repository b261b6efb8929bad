import {
  connect,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { freshDatabase, query } from '../../support/pg';

/** Awkward values of every kind the engine must carry byte for byte. */
const SOURCE_DDL = `
  CREATE TABLE events (
    tenant text NOT NULL, seq int NOT NULL,
    note text, blob bytea, doc jsonb, at timestamptz, local_at timestamp, amount numeric(38, 18), ratio float8, tags text[], day date,
    PRIMARY KEY (tenant, seq));
  INSERT INTO events VALUES
    ('acme', 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('acme', 2, 'emoji 🚀🔥 and 日本語 and ñ', '\\x00ff10'::bytea, '{"b": [1, 2, {"c": null}], "a": "é"}', '2024-03-10 02:30:00-08', '2024-03-10 02:30:00', 12345678901234567890.123456789012345678, 0.1, ARRAY['x', NULL, 'y,z'], '2024-02-29'),
    ('acme', 3, E'tab\\there\\nnewline \\\\ backslash "quote" ''single''', '\\x'::bytea, '[]', '2024-06-01 12:00:00+05:45', '1999-12-31 23:59:59.999999', -0.000000000000000001, 'NaN', '{}', '0001-01-01'),
    ('beta', 1, repeat('0123456789abcdef', 65536), decode(repeat('deadbeef', 1000), 'hex'), '{"big": 1e400}', '2024-11-03 01:30:00 America/New_York', NULL, 1e19, '-Infinity', NULL, NULL),
    ('Beta', 1, '', NULL, '"just a string"', 'infinity', 'infinity', 0, -0.0, NULL, 'infinity');
  INSERT INTO events SELECT 'gen' || (g % 3), g, 'row ' || g, NULL, jsonb_build_object('g', g), now(), NULL, g / 7.0, g / 3.0, NULL, NULL FROM generate_series(1, 2000) g;`;

const spec = parseSpec({
  version: 1,
  name: 'edge',
  targetDdl: [
    `CREATE TABLE events2 (org text NOT NULL, n int NOT NULL, note text, blob bytea, doc jsonb, at timestamptz, local_at timestamp, amount numeric(38, 18), ratio float8, tags text[], day date, PRIMARY KEY (org, n))`,
  ],
  tables: [
    {
      name: 'events',
      source: { table: 'events' },
      key: ['tenant', 'seq'],
      target: { table: 'events2', key: ['org', 'n'] },
      columns: {
        note: 's.note',
        blob: 's.blob',
        doc: 's.doc',
        at: 's.at',
        local_at: 's.local_at',
        amount: 's.amount',
        ratio: 's.ratio',
        tags: 's.tags',
        day: 's.day',
      },
      chunkSize: 97,
    },
  ],
});

describe('edge data', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;

  beforeAll(async () => {
    source = await freshDatabase('esrc');
    target = await freshDatabase('etgt');
    await query(source, SOURCE_DDL);
    // Sessions with a non-UTC zone on both sides must not shift timestamps.
    await query(source, `ALTER DATABASE ${source.database} SET TimeZone = 'Asia/Kathmandu'`);
    await query(target, `ALTER DATABASE ${target.database} SET TimeZone = 'America/Los_Angeles'`);
  });

  test('GIVEN NULLs, unicode, 1 MB text, bytea, jsonb, zones, numeric precision and a composite key WHEN copied THEN every value is identical and validation matches', async () => {
    await prepareTarget(spec, source, target);
    const layout = await describeTableWith(spec.tables[0], source, target);
    const copy = await copyTable(layout, source, target, { runId: 'edge', concurrency: 2 });
    expect(copy.rowsTotal).toBe(2005);
    expect(copy.chunks).toBe(Math.ceil(2005 / 97));

    const v = await validateTable(layout, source, target, { runId: 'edge' });
    expect(v.match).toBe(true);
    expect(v.source.rows).toBe(2005);

    // Independently of the engine's checksum: compare every value's text form in a fixed zone.
    const dump = async (db: DbEndpoint, table: string, k1: string, k2: string) => {
      const c = await connect(db);
      try {
        const r = await c.query(
          `SELECT ${k1}, ${k2}, note, encode(blob, 'hex') AS blob, doc::text, at::text, local_at::text, amount::text, ratio::text, tags::text, day::text FROM ${table} ORDER BY 1, 2`,
        );
        return r.rows.map((row) => Object.values(row));
      } finally {
        await c.end();
      }
    };
    const a = await dump(source, 'events', 'tenant', 'seq');
    const b = await dump(target, 'events2', 'org', 'n');
    expect(b).toEqual(a);
    const big = b.find((row) => row[0] === 'beta')!;
    expect((big[2] as string).length).toBe(16 * 65536);
  });

  test('GIVEN a composite key WHEN one value differs THEN bisect names the (tenant, seq) pair', async () => {
    await query(target, "UPDATE events2 SET amount = amount + 0.000000000000000001 WHERE org = 'gen1' AND n = 1000");
    const layout = await describeTableWith(spec.tables[0], source, target);
    const v = await validateTable(layout, source, target, { runId: 'edge', leafRows: 16 });
    expect(v.match).toBe(false);
    expect(v.differences.changed).toEqual([['gen1', '1000']]);
  });
});
