import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import type { DbEndpoint } from '../engine/db';
import { qi } from '../engine/sql';

/**
 * Where the chat app keeps its messages in one version of the schema. The old app writes the
 * old schema (chat_messages.body), the new app the new one (messages.content): the two apps are
 * different releases of the same service, each on its own database.
 */
export interface MessageSchema {
  /** Schema-qualified table, e.g. public.chat_messages. */
  readonly table: string;
  readonly key: string;
  readonly conversation: string;
  readonly content: string;
  /** Sequence that hands out new keys on this side. */
  readonly sequence: string;
  /** Extra columns set on insert (column -> SQL expression). */
  readonly insertDefaults: Readonly<Record<string, string>>;
  /** Column set to now() on every edit. */
  readonly updatedAt: string;
}

export const OLD_MESSAGES: MessageSchema = {
  table: 'public.chat_messages',
  key: 'id',
  conversation: 'session_id',
  content: 'body',
  sequence: 'public.chat_messages_id_seq',
  insertDefaults: { role: "'human'", metadata: 'NULL', created_at: 'now()' },
  updatedAt: 'updated_at',
};

export const NEW_MESSAGES: MessageSchema = {
  table: 'public.messages',
  key: 'message_id',
  conversation: 'conversation_id',
  content: 'content',
  sequence: 'public.messages_message_id_seq',
  insertDefaults: { role: "'user'", metadata: "'{}'::jsonb", created_at: 'now()' },
  updatedAt: 'updated_at',
};

/** How the app misbehaves, switched on by the rehearsal's fault flags. */
export interface AppFaults {
  /** Answer every request 500 (a bad release). */
  failing?(): boolean;
  /** Extra latency added to every request, ms. */
  extraLatencyMs?(): number;
  /** This route (e.g. `GET /messages/:id`) answers differently from the old app. */
  broken?(route: string): boolean;
}

export interface ChatAppOptions {
  /** The chat schema this version writes; without it the app only serves generic reads by key (`GET /items/<n>`). */
  readonly messages?: MessageSchema;
  /** Generic read: a table and key column (a user's own spec). */
  readonly probe?: { readonly table: string; readonly key: string };
  readonly faults?: AppFaults;
}

type Route = {
  method: string;
  pattern: RegExp;
  name: string;
  run: (m: RegExpExecArray, body: Record<string, unknown>) => Promise<[number, unknown?]>;
};

/**
 * A small version of the service. Reads and writes messages in its own database:
 *   GET /health, GET /messages/:id, POST /messages {conversation, content},
 *   PATCH /messages/:id {content}, DELETE /messages/:id, GET /items/:n (generic read by key).
 * A write is acknowledged (2xx) only after its transaction committed.
 */
export class ChatApp {
  private server?: http.Server;
  private readonly pool: Pool;
  private readonly routes: Route[];
  public served = 0;

  constructor(
    db: DbEndpoint,
    private readonly opts: ChatAppOptions,
  ) {
    this.pool = new Pool({
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.user,
      password: db.password,
      max: 6,
    });
    this.pool.on('error', () => undefined);
    this.routes = this.buildRoutes();
  }

  private buildRoutes(): Route[] {
    const routes: Route[] = [
      { method: 'GET', pattern: /^\/health$/, name: 'GET /health', run: async () => [200, { ok: true }] },
    ];
    if (this.opts.probe) routes.push(this.probeRoute(this.opts.probe));
    if (this.opts.messages) routes.push(...this.messageRoutes(this.opts.messages));
    return routes;
  }

  /** The generic read by key of a user's own spec: how many rows have that key. */
  private probeRoute(p: NonNullable<ChatAppOptions['probe']>): Route {
    return {
      method: 'GET',
      pattern: /^\/items\/(\d+)$/,
      name: 'GET /items/:n',
      run: async (m) => {
        try {
          const r = await this.pool.query(`SELECT count(*)::int AS n FROM ${p.table} WHERE ${qi(p.key)} = $1`, [m[1]]);
          return [200, { found: r.rows[0].n }];
        } catch (e) {
          // A key that is not a number (uuid, text): no row has that key.
          if (['22P02', '22003', '42883'].includes((e as { code?: string }).code ?? '')) return [200, { found: 0 }];
          throw e;
        }
      },
    };
  }

  /** The chat app's message routes: read, create, edit, delete. */
  private messageRoutes(s: MessageSchema): Route[] {
    const extra = Object.keys(s.insertDefaults);
    return [
      {
        method: 'GET',
        pattern: /^\/messages\/(\d+)$/,
        name: 'GET /messages/:id',
        run: async (m) => {
          const r = await this.pool.query(
            `SELECT ${qi(s.key)}::text AS id, ${qi(s.conversation)}::text AS conversation, ${qi(s.content)} AS content FROM ${s.table} WHERE ${qi(s.key)} = $1`,
            [m[1]],
          );
          if (!r.rows.length) return [404, { error: 'not found' }];
          const row = r.rows[0];
          return [
            200,
            this.opts.faults?.broken?.('GET /messages/:id')
              ? { ...row, content: String(row.content).toUpperCase() }
              : row,
          ];
        },
      },
      {
        method: 'POST',
        pattern: /^\/messages$/,
        name: 'POST /messages',
        run: async (_m, body) => {
          const conversation = Number(body.conversation);
          if (!Number.isInteger(conversation) || typeof body.content !== 'string')
            return [400, { error: 'conversation (integer) and content (string) are required' }];
          const r = await this.pool.query(
            `INSERT INTO ${s.table} (${qi(s.key)}, ${qi(s.conversation)}, ${qi(s.content)}, ${extra.map(qi).join(', ')}, ${qi(s.updatedAt)})
             VALUES (nextval('${s.sequence}'), $1, $2, ${extra.map((c) => s.insertDefaults[c]).join(', ')}, now()) RETURNING ${qi(s.key)}::text AS id`,
            [conversation, body.content],
          );
          return [201, { id: r.rows[0].id }];
        },
      },
      {
        method: 'PATCH',
        pattern: /^\/messages\/(\d+)$/,
        name: 'PATCH /messages/:id',
        run: async (m, body) => {
          if (typeof body.content !== 'string') return [400, { error: 'content (string) is required' }];
          const r = await this.pool.query(
            `UPDATE ${s.table} SET ${qi(s.content)} = $2, ${qi(s.updatedAt)} = now() WHERE ${qi(s.key)} = $1`,
            [m[1], body.content],
          );
          return r.rowCount ? [200, { id: m[1] }] : [404, { error: 'not found' }];
        },
      },
      {
        method: 'DELETE',
        pattern: /^\/messages\/(\d+)$/,
        name: 'DELETE /messages/:id',
        run: async (m) => {
          const r = await this.pool.query(`DELETE FROM ${s.table} WHERE ${qi(s.key)} = $1`, [m[1]]);
          return r.rowCount ? [204] : [404, { error: 'not found' }];
        },
      },
    ];
  }

  async start(): Promise<number> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').split('?')[0];
    let match: RegExpExecArray | null = null;
    const route = this.routes.find((r) => {
      match = r.method === req.method ? r.pattern.exec(path) : null;
      return match !== null;
    });
    if (!route || !match) return void res.writeHead(404).end();
    const delay = this.opts.faults?.extraLatencyMs?.() ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (this.opts.faults?.failing?.()) return void res.writeHead(500).end('injected failure');
    try {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const [status, payload] = await route.run(match, body);
      this.served++;
      if (payload === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    } catch {
      res.writeHead(503).end();
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
    await this.pool.end().catch(() => undefined);
  }
}
