import * as http from 'http';

/** Steady request traffic through the router until stopped; counts responses by status class. */
export class TrafficGenerator {
  public total = 0;
  public errors = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(private readonly port: number, private readonly maxKey: number, private readonly concurrency = 4, private readonly pauseMs = 20) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop(i));
  }

  private async loop(seed: number): Promise<void> {
    let n = seed;
    while (this.running) {
      n = (n * 7919 + 17) % Math.max(1, this.maxKey);
      const status = await new Promise<number>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: this.port, path: `/items/${n + 1}`, agent: this.agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.setTimeout(5000, () => req.destroy());
      });
      this.total++;
      if (status === 0 || status >= 500) this.errors++;
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }
}
