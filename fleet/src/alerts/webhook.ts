import type { Logger } from 'pino';
import type { FleetMetrics } from '../metrics.js';

export interface WebhookOptions {
  url: string;
  maxAttempts: number;
  baseDelayMs: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** Queue bound: when a receiver is down for long, the oldest notifications go first. */
  maxQueue?: number;
  log: Logger;
  metrics: FleetMetrics;
}

interface Job {
  body: string;
  attempt: number;
}

/**
 * POSTs alert changes as JSON to one URL. notify() only enqueues and returns
 * at once, so presence tracking never waits on a slow receiver; a failed POST
 * is retried with exponential backoff, in order, up to maxAttempts.
 */
export class WebhookNotifier {
  private readonly queue: Job[] = [];
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private inflight: AbortController | undefined;
  dropped = 0;

  constructor(private readonly opts: WebhookOptions) {}

  notify(event: string, payload: unknown): void {
    if (this.closed) return;
    const max = this.opts.maxQueue ?? 10_000;
    if (this.queue.length >= max) {
      this.queue.shift();
      this.dropped += 1;
      this.opts.metrics.webhookDeliveries.inc({ result: 'dropped' });
    }
    this.queue.push({ body: JSON.stringify({ event, at: new Date().toISOString(), data: payload }), attempt: 0 });
    if (!this.running) void this.pump();
  }

  get pending(): number {
    return this.queue.length;
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const job = this.queue[0]!;
        job.attempt += 1;
        const ok = await this.post(job.body);
        if (this.closed) return;
        if (ok) {
          this.queue.shift();
          this.opts.metrics.webhookDeliveries.inc({ result: 'ok' });
          continue;
        }
        if (job.attempt >= this.opts.maxAttempts) {
          this.queue.shift();
          this.opts.metrics.webhookDeliveries.inc({ result: 'gave-up' });
          this.opts.log.error({ attempts: job.attempt }, 'webhook delivery given up');
          continue;
        }
        this.opts.metrics.webhookDeliveries.inc({ result: 'retry' });
        const delay = this.opts.baseDelayMs * 2 ** (job.attempt - 1);
        await new Promise<void>((resolve) => {
          this.timer = setTimeout(resolve, Math.min(delay, 5 * 60_000));
        });
      }
    } finally {
      this.running = false;
    }
  }

  private async post(body: string): Promise<boolean> {
    const ac = new AbortController();
    this.inflight = ac;
    const timeout = setTimeout(() => ac.abort(), this.opts.timeoutMs ?? 5000);
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: ac.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.opts.log.warn({ status: res.status }, 'webhook receiver refused');
      return res.ok;
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err: (err as Error).message }, 'webhook delivery failed');
      return false;
    } finally {
      clearTimeout(timeout);
      this.inflight = undefined;
    }
  }

  /** Stops at once; undelivered notifications are dropped (they are in the alerts table). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.inflight?.abort();
    this.queue.length = 0;
  }
}
