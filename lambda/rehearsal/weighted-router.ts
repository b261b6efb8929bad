import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlarmState } from '../core/traffic/health';
import type { AlarmReader, TrafficRouter } from '../core/traffic/ports';
import type { Weights } from '../core/traffic/weights';
import { SIDE_HEADER } from '../core/verify/ports';

export type Side = 'old' | 'new';

/** Requests and errors seen at one weight setting. */
export interface WeightWindow {
  readonly weights: Weights;
  readonly startedAt: number;
  requests: Record<Side, number>;
  errors: Record<Side, number>;
  /** Every response's latency in ms, per side (raw samples for the canary's rank test). */
  latencies: Record<Side, number[]>;
}

/**
 * A local weighted HTTP router in front of the old and new app: each request goes
 * to one side at random by weight (like ALB weighted target groups). Implements the
 * TrafficRouter port, and an AlarmReader over the new side's real error rate.
 */
export class LocalWeightedRouter implements TrafficRouter, AlarmReader {
  public readonly description = 'local weighted router';
  public readonly windows: WeightWindow[] = [];
  private weights: Weights = { old: 100, new: 0 };
  private server?: http.Server;
  /**
   * Idle upstream sockets are closed after 2 s, before the apps' 5 s keep-alive timeout (as an ALB's
   * idle timeout is set below its targets'): a socket the app closes while the router reuses it
   * would fail that request with ECONNRESET and count an error against a healthy side.
   */
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 2000 });
  private recent: { at: number; side: Side; ok: boolean }[] = [];
  /** When the last request was sent to the new side (the end of a traffic rollback, seen from the clients). */
  public lastNewRequestAt = 0;

  /**
   * @param onAnswer called for every answered request of the weighted traffic (the canary's samples)
   */
  constructor(
    private readonly backends: Record<Side, number>,
    private readonly errorRateThreshold = 0.02,
    private readonly onAnswer: (side: Side, r: { at: number; ms: number; status: number }) => void = () => undefined,
  ) {
    this.windows.push(this.newWindow());
  }

  private newWindow(): WeightWindow {
    return {
      weights: this.weights,
      startedAt: Date.now(),
      requests: { old: 0, new: 0 },
      errors: { old: 0, new: 0 },
      latencies: { old: [], new: [] },
    };
  }

  async getWeights(): Promise<Weights> {
    return this.weights;
  }

  async setWeights(w: Weights): Promise<void> {
    this.weights = w;
    this.windows.push(this.newWindow());
  }

  /** ALARM when the new side's error rate over the last 10 s is above the threshold (with at least 3 requests). */
  async read(): Promise<AlarmState[]> {
    const since = Date.now() - 10_000;
    this.recent = this.recent.filter((r) => r.at >= since);
    const mine = this.recent.filter((r) => r.side === 'new');
    const errors = mine.filter((r) => !r.ok).length;
    const bad = mine.length >= 3 && errors / mine.length > this.errorRateThreshold;
    return [{ name: 'local-new-error-rate', state: bad ? 'ALARM' : 'OK', since: new Date(since) }];
  }

  async start(): Promise<number> {
    this.server = http.createServer((req, res) => {
      // Direct access (like the ALB's `x-switchyard-side` listener rules): smoke checks reach one side, outside the weights.
      const direct = req.headers[SIDE_HEADER];
      if (direct === 'old' || direct === 'new') return this.forward(req, res, direct);
      const side: Side = Math.random() * 100 < this.weights.new ? 'new' : 'old';
      const window = this.windows[this.windows.length - 1];
      window.requests[side]++;
      const t0 = Date.now();
      if (side === 'new') this.lastNewRequestAt = t0;
      const proxied = http.request(this.upstream(req, side), (up) => {
        const ok = (up.statusCode ?? 500) < 500;
        if (!ok) window.errors[side]++;
        up.on('end', () => {
          window.latencies[side].push(Date.now() - t0);
          this.onAnswer(side, { at: Date.now(), ms: Date.now() - t0, status: up.statusCode ?? 0 });
        });
        this.recent.push({ at: Date.now(), side, ok });
        res.writeHead(up.statusCode ?? 502, { ...up.headers, [SIDE_HEADER]: side });
        up.pipe(res);
      });
      proxied.on('error', () => {
        window.errors[side]++;
        this.onAnswer(side, { at: Date.now(), ms: Date.now() - t0, status: 0 });
        this.recent.push({ at: Date.now(), side, ok: false });
        res.writeHead(502).end();
      });
      req.pipe(proxied);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  /** The request to one side's app: same path, method and headers, over the router's keep-alive agent. */
  private upstream(req: http.IncomingMessage, side: Side): http.RequestOptions {
    return {
      host: '127.0.0.1',
      port: this.backends[side],
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent: this.agent,
    };
  }

  /** A direct-access request: straight to one side, not counted in the weighted traffic. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, side: Side): void {
    const proxied = http.request(this.upstream(req, side), (up) => {
      res.writeHead(up.statusCode ?? 502, { ...up.headers, [SIDE_HEADER]: side });
      up.pipe(res);
    });
    proxied.on('error', () => res.writeHead(502).end());
    req.pipe(proxied);
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
