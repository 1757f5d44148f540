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
// The newest plan is kept: an edge that was not up yet, or restarted and lost
// it, gets it again on the next stats tick (the retained MQTT message comes
// again only when the agent reconnects, not when the edge restarts).
import type { Logger } from 'pino';
import { DiemcauError, mediaPlanCodec, mediaStatsCodec, type MediaPlan, type MediaStats } from '@diemcau/shared';
import { signalCall } from './signal-client.js';

export interface EdgeClientOptions {
  /** The edge's signalling URL on this box, e.g. http://127.0.0.1:7443 */
  url: string;
  adminToken: string;
  /** PEM of the CA an https edge's certificate must chain to. */
  ca?: string;
  log: Logger;
  /** Called with each stats report while the edge runs a meeting. */
  publishStats?: (json: string) => void | Promise<void>;
  /** How often the edge is asked for stats (and handed the plan again if it lacks it). */
  statsIntervalMs?: number;
}

export class EdgeClient {
  /** Plans refused, by error code. */
  readonly refused = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  // Plans go to the edge one at a time, newest last.
  private chain: Promise<unknown> = Promise.resolve();
  /** The newest plan from the fleet, and whether the edge refused it (then it is not sent again). */
  private latest: MediaPlan | null = null;
  private latestRefused = false;
  private unreachable = false;

  constructor(private readonly o: EdgeClientOptions) {}

  /** Takes a raw plan payload from MQTT. Resolves once the edge has answered; never throws. */
  /** The newest plan accepted (null: none yet). */
  plan(): MediaPlan | null {
    return this.latest;
  }

  forwardPlan(payload: Buffer | string): Promise<void> {
    const decoded = mediaPlanCodec.decode(payload);
    if (!decoded.ok) {
      this.refuse(decoded.error);
      return Promise.resolve();
    }
    const plan = decoded.value;
    if (this.latest && plan.revision < this.latest.revision) {
      this.refuse(
        new DiemcauError('APPL_ERR_MEDIA_CONFLICT', `plan ${plan.revision} is older than ${this.latest.revision}`),
      );
      return Promise.resolve();
    }
    this.latest = plan;
    this.latestRefused = false;
    return this.push(plan);
  }

  private push(plan: MediaPlan): Promise<void> {
    const next = this.chain.then(async () => {
      try {
        const res = await this.call('PUT', '/media/v1/plan', plan);
        this.unreachable = false;
        if (res.status === 200) return;
        if (plan === this.latest) this.latestRefused = true;
        this.refuse(
          new DiemcauError('APPL_ERR_MEDIA_CONFLICT', `edge refused plan ${plan.revision}: ${res.text.slice(0, 200)}`),
        );
      } catch (err) {
        // Not up yet, or restarting: the next stats tick hands the plan over again.
        const error = new DiemcauError('APPL_ERR_MEDIA', 'edge unreachable', { cause: err });
        this.refused.set(error.code, (this.refused.get(error.code) ?? 0) + 1);
        if (!this.unreachable) this.o.log.warn({ err: error, revision: plan.revision }, 'media plan not applied yet');
        this.unreachable = true;
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
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.tick(), this.o.statsIntervalMs ?? 5000);
  }

  private async tick(): Promise<void> {
    let s: MediaStats;
    try {
      s = await this.stats();
    } catch (err) {
      this.o.log.debug({ err }, 'media stats unavailable');
      if (this.latest && !this.latestRefused) await this.push(this.latest);
      return;
    }
    // A fresh edge (started late, restarted) runs no plan, or an older one.
    if (this.latest && !this.latestRefused && s.revision < this.latest.revision) {
      this.o.log.info(
        { edgeRevision: s.revision, revision: this.latest.revision },
        'edge lacks the newest media plan: handing it over again',
      );
      await this.push(this.latest);
    }
    if (this.o.publishStats && s.meetings.length > 0) {
      await Promise.resolve(this.o.publishStats(mediaStatsCodec.encode(s))).catch((err: unknown) =>
        this.o.log.debug({ err }, 'media stats not published'),
      );
    }
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
    return signalCall(this.o.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.o.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      timeoutMs: 5000,
    });
  }
}
