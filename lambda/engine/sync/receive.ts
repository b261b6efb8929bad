import type { Client } from 'pg';
import { connect, type DbEndpoint } from '../db';
import { DatabaseUnreachableError, describe } from '../errors';
import { ReplicationSlotActiveError } from './errors';
import { type PgOutputMessage, StreamDecoder } from './pgoutput';
import { isXLogData, parseFrame, statusUpdate, XLOG_PAYLOAD_OFFSET } from './replication-protocol';

/** What the receive side hands to the dispatch, in stream order. */
export type StreamEvent =
  | { readonly kind: 'change'; readonly msg: PgOutputMessage }
  | { readonly kind: 'keepalive'; readonly walEnd: bigint; readonly replyRequested: boolean };

interface RawConnection {
  on(event: string, fn: (msg: { chunk?: Buffer }) => void): void;
  once(event: string, fn: (msg: unknown) => void): void;
  removeListener(event: string, fn: (msg: never) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  stream: { pause(): void; resume(): void; destroy(): void };
}

/**
 * Decoded messages held before the socket is paused. 10,000: while the walsender decodes a streamed
 * transaction's next block it sends nothing, and the run keeps applying what it holds; a huge
 * transaction's peak RSS stays under 300 MB (bench:sync, docs/data-engine.md).
 */
export const RECEIVE_BUFFER = 10_000;

export interface ReceiveOptions {
  /** Decoded messages held before the socket is paused (back-pressure on the walsender). @default RECEIVE_BUFFER */
  readonly highWater?: number;
  /** Wait this long for a slot another applier streams from, then ReplicationSlotActiveError. @default 30000 */
  readonly slotWaitMs?: number;
  /** Stop waiting for the slot (returns null) when aborted. */
  readonly signal?: AbortSignal;
  /** The walsender session's logical_decoding_work_mem, in kB. @default - the server's */
  readonly decodingWorkMemKb?: number;
}

/**
 * One replication connection streaming one logical slot. The socket's CopyData messages are
 * parsed and decoded as they arrive (also while the previous batch commits) into a queue the
 * dispatch reads with `next`; past `highWater` queued messages the socket is paused until the
 * queue is half empty, so memory stays bounded whatever the walsender sends.
 */
export class ReceiveStream {
  private queue: StreamEvent[] = [];
  private head = 0;
  private paused = false;
  private failure: unknown = null;
  private ended = false;
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly decoder = new StreamDecoder();

  private done: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: Client,
    private readonly raw: RawConnection,
    private readonly highWater: number,
  ) {
    // Listening before START_REPLICATION is sent: the first changes may arrive in the same read as CopyBoth.
    raw.on('copyData', (m) => this.onData(m.chunk as Buffer));
    client.on('end', () =>
      this.finish(
        new DatabaseUnreachableError(
          'the replication connection to the source closed ' +
            '(the walsender ended: restart, terminate or wal_sender_timeout): ' +
            'nothing unconfirmed is lost, run the sync again',
        ),
      ),
    );
  }

  private track(query: Promise<unknown>): void {
    this.done = query.then(
      () => this.finish(null),
      (e) => this.finish(e),
    );
  }

  /**
   * Connect with `replication=database` and send START_REPLICATION; resolves once the server
   * switched to CopyBoth. A slot another session streams (SQLSTATE 55006) is retried for up
   * to `slotWaitMs` (two appliers of one slot take turns), then ReplicationSlotActiveError.
   */
  static async open(endpoint: DbEndpoint, command: string, o: ReceiveOptions = {}): Promise<ReceiveStream | null> {
    const waitMs = o.slotWaitMs ?? 30_000;
    const t0 = Date.now();
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      const client = await connect(endpoint, { applicationName: 'switchyard-sync-stream', replication: true });
      if (o.decodingWorkMemKb !== undefined)
        await client.query(`SET logical_decoding_work_mem = ${Math.max(64, Math.trunc(o.decodingWorkMemKb))}`);
      const raw = client.connection as unknown as RawConnection;
      const stream = new ReceiveStream(client, raw, o.highWater ?? RECEIVE_BUFFER);
      const started = new Promise((resolve) => raw.once('replicationStart', resolve));
      const query = client.query(command);
      query.catch(() => undefined); // observed by the race below and by `track`
      try {
        await Promise.race([started, query]);
        stream.track(query);
        return stream;
      } catch (e) {
        await client.end().catch(() => undefined);
        if ((e as { code?: string }).code !== '55006') throw e;
        if (o.signal?.aborted) return null;
        if (Date.now() - t0 >= waitMs) {
          throw new ReplicationSlotActiveError(
            `${describe(e)}: another applier streams this slot (a bake, a drain or switchyard sync) ` +
              'and applies its changes; ' +
              `waited ${Math.round(waitMs / 1000)} s: retry after it ends, or stop it`,
            { cause: e },
          );
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Messages received and not yet taken. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** The next event; null when nothing arrived within `idleMs` (or the signal fired). Throws what ended the stream. */
  async next(idleMs: number, signal?: AbortSignal): Promise<StreamEvent | null> {
    if (this.head === this.queue.length && !this.failure && !this.ended && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(wake, idleMs);
        function wake() {
          clearTimeout(t);
          signal?.removeEventListener('abort', wake);
          resolve();
        }
        this.wake = wake;
        signal?.addEventListener('abort', wake, { once: true });
      });
      this.wake = null;
    }
    if (this.head < this.queue.length) return this.take();
    // Aborted: still let the socket's pending reads run, so no caller's loop can starve them.
    if (signal?.aborted) await new Promise((r) => setImmediate(r));
    if (this.failure) throw this.failure;
    if (this.ended)
      throw new DatabaseUnreachableError(
        'the walsender ended the replication stream: nothing unconfirmed is lost, run the sync again',
      );
    return null;
  }

  /** Report positions to the walsender (it confirms `flush` for the slot). */
  sendStatus(write: bigint, flush: bigint): void {
    if (this.ended) return;
    this.raw.sendCopyFromChunk(statusUpdate({ write, flush, apply: flush, nowMs: Date.now() }));
  }

  /**
   * End the stream: CopyDone, then wait (up to `timeoutMs`) for the walsender to finish the
   * command, so every status update sent before was processed; changes still arriving are dropped
   * (they were not confirmed, the next run streams them again). Always closes the connection.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.queue = [];
    this.head = 0;
    try {
      if (!this.ended) {
        this.raw.endCopyFrom();
        this.resume();
        await Promise.race([this.done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      }
    } finally {
      if (!this.ended) this.raw.stream.destroy();
      await this.client.end().catch(() => undefined);
    }
  }

  private take(): StreamEvent {
    const e = this.queue[this.head++];
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.queued <= this.highWater / 2) this.resume();
    return e;
  }

  private onData(chunk: Buffer): void {
    if (this.stopping || this.failure) return;
    try {
      // Decoded here, at once, in place: the chunk is a view of the driver's read buffer, which is reused.
      if (isXLogData(chunk)) {
        this.push({ kind: 'change', msg: this.decoder.decode(chunk, XLOG_PAYLOAD_OFFSET) });
        return;
      }
      const f = parseFrame(chunk);
      if (f.kind === 'keepalive') this.push({ kind: 'keepalive', walEnd: f.walEnd, replyRequested: f.replyRequested });
    } catch (e) {
      this.finish(e);
    }
  }

  private push(e: StreamEvent): void {
    this.queue.push(e);
    if (!this.paused && this.queued >= this.highWater) {
      this.paused = true;
      this.raw.stream.pause();
    }
    const wake = this.wake;
    this.wake = null; // once per wait: the waiter is woken, later pushes only queue
    wake?.();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.raw.stream.resume();
  }

  private finish(e: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (e && !this.stopping) this.failure = e;
    this.wake?.();
  }
}
