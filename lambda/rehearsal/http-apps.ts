import * as http from 'http';
import type { AddressInfo } from 'net';
import { Pool } from 'pg';
import type { DbEndpoint } from '../engine/db';
import { qi } from '../engine/sql';

/**
 * A small version of the service: GET /items/<n> reads one row by key from its own
 * database (the old app from the old table, the new app from the new one).
 * `failing()` makes the app answer 500, to rehearse a bad release.
 */
export class ChatApp {
  private server?: http.Server;
  private readonly pool: Pool;
  public served = 0;

  constructor(db: DbEndpoint, private readonly table: string, private readonly keyColumn: string, private readonly failing: () => boolean = () => false) {
    this.pool = new Pool({ host: db.host, port: db.port, database: db.database, user: db.user, password: db.password, max: 4 });
    this.pool.on('error', () => undefined);
  }

  async start(): Promise<number> {
    this.server = http.createServer(async (req, res) => {
      const m = /^\/items\/(\d+)$/.exec(req.url ?? '');
      if (!m) return void res.writeHead(404).end();
      if (this.failing()) return void res.writeHead(500).end('injected failure');
      try {
        const r = await this.pool.query(`SELECT count(*)::int AS n FROM ${qi(this.table)} WHERE ${qi(this.keyColumn)} = $1`, [Number(m[1])]);
        this.served++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ found: r.rows[0].n }));
      } catch {
        res.writeHead(503).end();
      }
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
    await this.pool.end().catch(() => undefined);
  }
}
