import type { DbEndpoint } from './db';

export type PostgresUrl =
  | { readonly endpoint: DbEndpoint }
  | { readonly problem: 'not-a-url' }
  | { readonly problem: 'not-postgres'; readonly protocol: string };

/**
 * postgres://user:password@host:port/db?sslmode=require → endpoint; the caller words the problem
 * for its own flag. Defaults: host localhost, port 5432, database postgres, no TLS. The password
 * is never part of a problem.
 */
export function parsePostgresUrl(url: string): PostgresUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { problem: 'not-a-url' };
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) return { problem: 'not-postgres', protocol: u.protocol };
  const ssl = u.searchParams.get('sslmode');
  return {
    endpoint: {
      host: decodeURIComponent(u.hostname) || 'localhost',
      port: Number(u.port || 5432),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      ssl: ssl === 'require' ? 'require' : ssl === 'verify-full' ? 'verify-full' : undefined,
    },
  };
}
