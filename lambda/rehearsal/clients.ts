import * as http from 'node:http';
import { SIDE_HEADER } from '../core/verify/ports';
import { contentHash, type Side, WriteLedger } from './ledger';

export interface ClientsOptions {
  /** The router's port. */
  readonly port: number;
  /** Highest seeded message id (reads pick from 1..maxKey). */
  readonly maxKey: number;
  /** Conversations that exist (creates pick from 1..conversations). */
  readonly conversations: number;
  /** Share of operations that are writes (create, edit, delete). 0 = read-only. @default 0.4 */
  readonly writeRatio?: number;
  /** Target writes per second over all clients. @default 100 */
  readonly writesPerSecond?: number;
  /** @default 4 */
  readonly concurrency?: number;
  /** Read path: `messages` (the chat app) or `items` (a generic read by key, for a user's own spec). @default messages */
  readonly readPath?: 'messages' | 'items';
  /** Index of the current traffic window, stamped on each acknowledged write. */
  readonly currentStep: () => number;
}

interface Reply {
  status: number;
  side?: Side;
  body: string;
}

/**
 * Clients of the service: a steady mix of reads and writes through the weighted router. Each
 * client creates its own messages and edits or deletes only those, so the order in which one
 * key's writes were acknowledged is the order they were committed. Every 2xx write goes into the ledger.
 */
export class ServiceClients {
  public readonly ledger = new WriteLedger();
  public total = 0;
  public errors = 0;
  public reads = 0;
  /** Writes answered 404 (the row had not reached the side that served the request yet): not acknowledged, not in the ledger. */
  public notFound = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(private readonly opts: ClientsOptions) {}

  start(): void {
    this.running = true;
    const n = this.opts.concurrency ?? 4;
    for (let i = 0; i < n; i++) this.loops.push(this.loop(i, n));
  }

  private request(method: string, path: string, body?: unknown): Promise<Reply> {
    return new Promise((resolve) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.opts.port,
          path,
          method,
          agent: this.agent,
          headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              side: res.headers[SIDE_HEADER] as Side | undefined,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.setTimeout(10_000, () => req.destroy());
      req.end(payload);
    });
  }

  private async loop(client: number, clients: number): Promise<void> {
    const writeRatio = this.opts.writeRatio ?? 0.4;
    const opsPerSecond = writeRatio > 0 ? (this.opts.writesPerSecond ?? 100) / writeRatio : 250;
    const pauseMs = Math.max(0, (clients * 1000) / opsPerSecond);
    const mine: string[] = [];
    let n = client + 1;
    let version = 0;
    while (this.running) {
      const t0 = Date.now();
      n = (n * 7919 + 17) % 1_000_003;
      const r = Math.random();
      let reply: Reply;
      if (r >= writeRatio || this.opts.readPath === 'items') {
        const key =
          mine.length && n % 4 === 0 ? mine[n % mine.length] : String((n % Math.max(1, this.opts.maxKey)) + 1);
        reply = await this.request('GET', this.opts.readPath === 'items' ? `/items/${key}` : `/messages/${key}`);
        this.reads++;
      } else {
        const op = mine.length < 3 || r < writeRatio * 0.45 ? 'create' : r < writeRatio * 0.85 ? 'edit' : 'delete';
        const content = `client ${client} v${++version} ${op} ${Date.now()}`;
        if (op === 'create') {
          reply = await this.request('POST', '/messages', {
            conversation: (n % Math.max(1, this.opts.conversations)) + 1,
            content,
          });
          if (reply.status === 201) {
            const key = String((JSON.parse(reply.body) as { id: string }).id);
            mine.push(key);
            this.ledger.record({
              op,
              key,
              contentHash: contentHash(content),
              side: reply.side ?? 'old',
              step: this.opts.currentStep(),
            });
          }
        } else {
          const i = n % mine.length;
          const key = mine[i];
          reply =
            op === 'edit'
              ? await this.request('PATCH', `/messages/${key}`, { content })
              : await this.request('DELETE', `/messages/${key}`);
          if (reply.status === 200 || reply.status === 204) {
            this.ledger.record({
              op,
              key,
              contentHash: op === 'edit' ? contentHash(content) : null,
              side: reply.side ?? 'old',
              step: this.opts.currentStep(),
            });
            if (op === 'delete') mine.splice(i, 1);
          } else if (reply.status === 404) this.notFound++;
        }
      }
      this.total++;
      if (reply.status === 0 || reply.status >= 500) this.errors++;
      const wait = pauseMs - (Date.now() - t0);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }
}
