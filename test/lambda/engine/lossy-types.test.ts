import {
  copyTable,
  type DbEndpoint,
  describeTableWith,
  LossyTypeError,
  narrowing,
  parseSpec,
  type PgType,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { freshDatabase, query } from '../../support/pg';

const SOURCE_DDL = `
  CREATE TABLE items (id bigint PRIMARY KEY, note text, price numeric(12, 4), big bigint, at timestamptz, label varchar(100));
  INSERT INTO items SELECT g, 'note number ' || g, g * 1.2345, g * 10000000000, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour', repeat('x', 10 + g % 20)
    FROM generate_series(1, 300) g;`;

const ALL = { note: 's.note', price: 's.price', big: 's.big', at: 's.at', label: 's.label' };

/** A spec whose target declares `types` (column -> type), every other column as wide as the source. */
function specWith(
  name: string,
  types: Partial<Record<keyof typeof ALL, string>>,
  allowLossy?: string[],
  columns: Record<string, string> = ALL,
) {
  const decl = {
    note: 'text',
    price: 'numeric(12, 4)',
    big: 'bigint',
    at: 'timestamptz',
    label: 'varchar(100)',
    ...types,
  };
  return parseSpec({
    version: 1,
    name: 'lossy',
    targetDdl: [
      `CREATE TABLE ${name} (id bigint PRIMARY KEY, ${Object.entries(decl)
        .map(([c, t]) => `${c} ${t}`)
        .join(', ')})`,
    ],
    tables: [
      {
        name: 'items',
        source: { table: 'items' },
        key: ['id'],
        target: { table: name },
        columns,
        chunkSize: 100,
        ...(allowLossy ? { allowLossy } : {}),
      },
    ],
  });
}

describe('lossy types', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  beforeAll(async () => {
    source = await freshDatabase('lsrc');
    target = await freshDatabase('ltgt');
    await query(source, SOURCE_DDL);
  });

  const tables = async () =>
    (await query<{ t: string }>(target, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")).map(
      (r) => r.t,
    );

  test.each([
    [
      'text -> varchar(8)',
      { note: 'varchar(8)' },
      /column note text -> character varying\(8\): holds at most 8 characters, the source is unbounded/,
    ],
    [
      'numeric(12,4) -> numeric(8,2)',
      { price: 'numeric(8, 2)' },
      /column price numeric\(12,4\) -> numeric\(8,2\): numeric\(8,2\) rounds numeric\(12,4\) to 2 decimals/,
    ],
    ['bigint -> int', { big: 'int' }, /column big bigint -> integer: int4 cannot hold every int8/],
    [
      'timestamptz -> timestamp',
      { at: 'timestamp' },
      /column at timestamp with time zone -> timestamp without time zone: timestamp drops the time zone/,
    ],
    [
      'varchar(100) -> varchar(20)',
      { label: 'varchar(20)' },
      /column label character varying\(100\) -> character varying\(20\): holds at most 20 characters, the source up to 100/,
    ],
  ])('fails when the target narrows %s: LossyTypeError, and the DDL is rolled back', async (_name, types, message) => {
    const err = (await prepareTarget(specWith('narrow', types), source, target).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(LossyTypeError);
    expect(err!.name).toBe('LossyTypeError');
    expect(err!.message).toMatch(message);
    expect(err!.message).toContain('table items:');
    expect(await tables()).not.toContain('narrow');
  });

  test('fails listing every narrowed column at once, including the result type of an expression', async () => {
    const cols = { ...ALL, note: 'left(s.note, 50)::varchar(50)' };
    const err = (await prepareTarget(
      specWith('narrow', { note: 'varchar(8)', big: 'int', label: 'varchar(20)' }, undefined, cols),
      source,
      target,
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(LossyTypeError);
    expect(err!.message.match(/^ {2}- /gm)).toHaveLength(3);
    expect(err!.message).toMatch(
      /column note character varying\(50\) -> character varying\(8\): holds at most 8 characters, the source up to 50/,
    );
  });

  test('GIVEN a widening (varchar -> text, int8 -> numeric(20,0), numeric(12,4) -> numeric(14,6)) WHEN prepared, copied and validated THEN it passes and matches', async () => {
    const spec = specWith('wide', { note: 'text', price: 'numeric(14, 6)', big: 'numeric(20, 0)', label: 'text' });
    await prepareTarget(spec, source, target);
    const layout = await describeTableWith(spec.tables[0], source, target);
    expect(layout.columns.filter((c) => c.narrowing)).toEqual([]);
    await copyTable(layout, source, target, { runId: 'wide' });
    expect((await validateTable(layout, source, target, { runId: 'wide' })).match).toBe(true);
  });

  test('GIVEN allowLossy for truncated columns WHEN copied THEN validation reports every truncated or rounded row as changed, not "match yes"', async () => {
    const spec = specWith('lossy_ok', { label: 'varchar(20)', price: 'numeric(8, 2)' }, ['label', 'price']);
    await prepareTarget(spec, source, target);
    const layout = await describeTableWith(spec.tables[0], source, target);
    const copy = await copyTable(layout, source, target, { runId: 'lossy' });
    expect(copy.rowsTotal).toBe(300);
    const v = await validateTable(layout, source, target, { runId: 'lossy', maxKeys: 1000 });
    expect(v.match).toBe(false);
    // label: 10 + g % 20 characters; > 20 when g % 20 > 10. price: g * 1.2345 rounds unless g * 1.2345 has at most 2 decimals (g % 20 == 0).
    const expected = Array.from({ length: 300 }, (_, i) => i + 1)
      .filter((g) => g % 20 > 10 || g % 20 !== 0)
      .map((g) => [String(g)]);
    expect(v.differences.changed).toEqual(expected);
    expect(v.differences.missing).toEqual([]);
  });

  test('narrowing rules: widenings and conversions are not narrowings', () => {
    const t = (name: string, typmod = -1, display = name): PgType => ({ name, typmod, display, array: false });
    const vc = (n: number) => t('varchar', n + 4, `character varying(${n})`);
    const num = (p: number, s: number) => t('numeric', ((p << 16) | s) + 4, `numeric(${p},${s})`);
    expect(narrowing(vc(20), t('text'))).toBeNull();
    expect(narrowing(vc(20), vc(20))).toBeNull();
    expect(narrowing(t('int4'), t('int8'))).toBeNull();
    expect(narrowing(num(8, 2), num(12, 4))).toBeNull();
    expect(narrowing(t('text'), t('jsonb'))).toBeNull();
    expect(narrowing(t('timestamp'), t('timestamptz'))).toBeNull();
    expect(narrowing(num(12, 4), num(14, 3))).toMatch(/rounds/);
    expect(narrowing(num(12, 2), num(11, 2))).toMatch(/overflows/);
    expect(narrowing(t('float8'), t('float4'))).toMatch(/rounds/);
    expect(narrowing(t('timestamptz', 6), t('timestamptz', 0))).toMatch(/fractional seconds/);
    expect(narrowing({ ...vc(100), array: true }, { ...vc(20), array: true })).toMatch(/at most 20/);
  });
});
