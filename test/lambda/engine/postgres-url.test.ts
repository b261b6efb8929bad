import { parsePostgresUrl } from '../../../lambda/engine/postgres-url';

describe('parsePostgresUrl', () => {
  test('GIVEN a full URL WHEN parsed THEN every part is decoded, sslmode included', () => {
    expect(parsePostgresUrl('postgresql://app%40x:p%2Fw@db.internal:6432/chat%20db?sslmode=verify-full')).toEqual({
      endpoint: {
        host: 'db.internal',
        port: 6432,
        database: 'chat db',
        user: 'app@x',
        password: 'p/w',
        ssl: 'verify-full',
      },
    });
  });

  test('GIVEN a short URL WHEN parsed THEN port 5432, database postgres, no TLS', () => {
    expect(parsePostgresUrl('postgres://u@h')).toEqual({
      endpoint: { host: 'h', port: 5432, database: 'postgres', user: 'u', password: '', ssl: undefined },
    });
  });

  test('GIVEN something else WHEN parsed THEN the problem, never the password', () => {
    expect(parsePostgresUrl('not a url')).toEqual({ problem: 'not-a-url' });
    expect(parsePostgresUrl('mysql://u:secret@h/db')).toEqual({ problem: 'not-postgres', protocol: 'mysql:' });
  });
});
