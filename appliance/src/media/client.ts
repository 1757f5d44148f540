// The agent's side of the media edge. The agent holds the box's one MQTT
// connection; it hands the retained media plan to the edge over the edge's
// local API, and publishes the edge's stats on 'media-stats'. Wiring, in the
// agent's composition root:
//
//   const media = new EdgeClient({ url, adminToken, log, publishStats: (json) => session.publish('media-stats', json, { qos: 0 }) });
//   agent.router.on('media', (payload) => media.forwardPlan(payload));
//   media.start(); ... media.close();
//
// Bad plans are refused here with a counted, logged reason; the edge never sees them.
import type { Logger } from 'pino';
import { DiemcauError, mediaPlanCodec, mediaStatsCodec, type MediaStats } from '@diemcau/shared';

export interface EdgeClientOptions {
  /** The edge's signalling URL on this box, e.g. http://127.0.0.1:7443 */
  url: string;
  adminToken: string;
  log: Logger;
  /** Called with each stats report while the edge runs a meeting. */
  publishStats?: (json: string) => void | Promise<void>;
  statsIntervalMs?: number;
}

export class EdgeClient {
  /** Plans refused, by error code. */
  readonly refused = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  // Plans go to the edge one at a time, newest last.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: EdgeClientOptions) {}

  /** Takes a raw plan payload from MQTT. Resolves once the edge has answered; never throws. */
  forwardPlan(payload: Buffer | string): Promise<void> {
    const decoded = mediaPlanCodec.decode(payload);
    if (!decoded.ok) {
      this.refuse(decoded.error);
      return Promise.resolve();
    }
    const next = this.chain.then(async () => {
      try {
        const res = await this.call('PUT', '/media/v1/plan', decoded.value);
        if (res.status !== 200) this.refuse(new DiemcauError('APPL_ERR_MEDIA_CONFLICT', `edge refused plan ${decoded.value.revision}: ${res.text.slice(0, 200)}`));
      } catch (err) {
        // The edge may be restarting; the retained plan comes again on reconnect.
        this.refuse(new DiemcauError('APPL_ERR_MEDIA', 'edge unreachable', { cause: err }));
      }
    });
    this.chain = next;
    return next;
  }

  /** The edge's current stats, validated. */
  async stats(): Promise<MediaStats> {
    const res = await this.call('GET', '/media/v1/stats');
    const decoded = mediaStatsCodec.decode(res.text);
    if (!decoded.ok) throw decoded.error;
    return decoded.value;
  }

  start(): void {
    if (this.timer || this.closed || !this.o.publishStats) return;
    const publish = this.o.publishStats;
    this.timer = setInterval(() => {
      this.stats()
        .then(async (s) => { if (s.meetings.length > 0) await publish(mediaStatsCodec.encode(s)); })
        .catch((err: unknown) => this.o.log.debug({ err }, 'media stats unavailable'));
    }, this.o.statsIntervalMs ?? 5000);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private refuse(err: DiemcauError): void {
    this.refused.set(err.code, (this.refused.get(err.code) ?? 0) + 1);
    this.o.log.warn({ err }, 'media plan not applied');
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(this.o.url + path, {
      method,
      headers: { authorization: `Bearer ${this.o.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, text: await res.text() };
  }
}
