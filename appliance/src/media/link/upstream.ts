// This edge's link to its upstream edge (see protocol.ts): creates our pipe
// transport, trades tuples with the upstream over HTTP, then reads the
// upstream's event stream and posts ours in order. Emits 'down' once, when the
// link fails or closes for any reason; the room then reconnects with backoff.
import type { Logger } from 'pino';
import { DiemcauError, type MediaUpstream } from '@diemcau/shared';
import type { ListenOptions, RoomRouter } from '../adapter/index.js';
import { Events } from '@diemcau/shared';
import { admitAnswer } from './admission.js';
import { PipeBridge, type BridgeHost, type BridgeLimits } from './bridge.js';
import { SignalTimeout, signalCall, signalRequest } from '../signal-client.js';
import {
  HEARTBEAT_MS,
  HEARTBEAT_TIMEOUT_MS,
  linkAnswerCodec,
  linkEventCodec,
  linkPaths,
  type LinkEvent,
} from './protocol.js';

export interface UpstreamOptions {
  router: RoomRouter;
  listen: ListenOptions;
  meetingId: string;
  upstream: MediaUpstream;
  edgeId: string;
  host: BridgeHost;
  log: Logger;
  /** PEM of the CA the upstream's certificate must chain to (https signal URLs). */
  ca?: string;
  limits?: BridgeLimits;
  /** Streams the link will carry up (places its transport when the meeting spans workers). */
  expectedConsumers?: number;
}

const REQUEST_TIMEOUT_MS = 5000;
/**
 * Waits before a batch of events that got no answer in time is posted again
 * (then the link fails). A busy upstream answers late; the events are
 * idempotent at the upstream (bridge.ts apply()), and closing the link would
 * close everything that crossed it and cost a full re-announcement. Whether
 * the upstream is alive is the event stream's heartbeat's to say.
 */
export const EVENT_RETRY_MS = [250, 500, 1000, 2000, 4000];

export class UpstreamLink {
  readonly events = new Events<{ down: [DiemcauError | null] }>();
  private readonly abort = new AbortController();
  private outbox: LinkEvent[] = [];
  private flushing = false;
  private pinging = false;
  private closed = false;
  private pinger: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;

  private constructor(
    readonly bridge: PipeBridge,
    readonly linkId: string,
    private readonly o: UpstreamOptions,
  ) {}

  static async open(o: UpstreamOptions): Promise<UpstreamLink> {
    const pipe = await o.router.createPipe(o.listen, o.expectedConsumers ?? 0);
    try {
      const srtp = pipe.srtp;
      if (!srtp) throw new DiemcauError('APPL_ERR_MEDIA', 'pipe transport has no SRTP key');
      const res = await request(o, 'POST', linkPaths.links(o.meetingId), {
        v: 1,
        edgeId: o.edgeId,
        ...pipe.tuple,
        srtp,
      });
      const answer = linkAnswerCodec.check(res);
      if (!answer.ok) throw answer.error;
      const verdict = await admitAnswer(o.upstream.signalUrl, answer.value);
      if (!verdict.ok) {
        const detail = `${verdict.detail}; link not made`;
        throw (
          o.limits?.refusals.refuse('APPL_ERR_MEDIA_FORBIDDEN', verdict.reason, detail, {
            upstream: o.upstream.edgeId,
            target: `${answer.value.ip}:${answer.value.port}`,
          }) ?? new DiemcauError('APPL_ERR_MEDIA_FORBIDDEN', detail)
        );
      }
      await pipe.connect({ ip: answer.value.ip, port: answer.value.port, srtp: answer.value.srtp });
      let link: UpstreamLink | null = null;
      const bridge = new PipeBridge(pipe, o.upstream.edgeId, 'up', o.host, (ev) => link?.enqueue(ev), o.log, o.limits);
      link = new UpstreamLink(bridge, answer.value.linkId, o);
      void link.readEvents(); // reports its own failure and closes the link
      return link;
    } catch (err) {
      pipe.close();
      throw err;
    }
  }

  private enqueue(ev: LinkEvent): void {
    if (this.closed) return;
    this.outbox.push(ev);
    void this.flush();
  }

  // One POST at a time keeps our events in order at the upstream.
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && !this.closed) {
        await this.post(this.outbox.splice(0, 256));
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.flushing = false;
    }
  }

  // One batch, posted again while it times out (EVENT_RETRY_MS); the next waits for it, so order holds.
  private async post(events: LinkEvent[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await request(
          this.o,
          'POST',
          linkPaths.events(this.o.meetingId, this.linkId),
          { v: 1, events },
          this.abort.signal,
        );
        return;
      } catch (err) {
        const wait = EVENT_RETRY_MS[attempt];
        if (!(err instanceof SignalTimeout) || wait === undefined || this.closed) throw err;
        this.o.log.warn(
          { err, upstream: this.o.upstream.edgeId, events: events.length, attempt: attempt + 1, retryInMs: wait },
          'link events got no answer in time; posting them again',
        );
        await new Promise((r) => setTimeout(r, wait));
        if (this.closed) return;
      }
    }
  }

  private async readEvents(): Promise<void> {
    try {
      const res = await signalRequest(this.o.upstream.signalUrl + linkPaths.events(this.o.meetingId, this.linkId), {
        method: 'GET',
        headers: { authorization: `Bearer ${this.o.upstream.linkToken}`, accept: 'text/event-stream' },
        signal: this.abort.signal,
        timeoutMs: REQUEST_TIMEOUT_MS,
        ...(this.o.ca ? { ca: this.o.ca } : {}),
      });
      if (res.status !== 200) {
        res.body.resume();
        throw new DiemcauError('APPL_ERR_MEDIA', `upstream event stream answered ${res.status}`);
      }
      this.bridge.state = 'connected';
      this.startTimers();
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        this.kick();
        buf += decoder.decode(chunk as Buffer, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          for (const line of block.split('\n')) {
            if (!line.startsWith('data: ')) continue;
            const ev = linkEventCodec.decode(line.slice(6));
            if (ev.ok) void this.bridge.receive(ev.value);
            else this.o.log.warn({ err: ev.error }, 'bad link event from upstream');
          }
        }
      }
      this.fail(new DiemcauError('APPL_ERR_MEDIA', 'upstream closed the event stream'));
    } catch (err) {
      this.fail(err);
    }
  }

  private startTimers(): void {
    this.kick();
    this.pinger = setInterval(() => {
      // One heartbeat at a time: a slow upstream is not sent a pile of them.
      if (this.pinging) return;
      this.pinging = true;
      const t0 = performance.now();
      request(
        this.o,
        'POST',
        linkPaths.events(this.o.meetingId, this.linkId),
        {
          v: 1,
          events: [
            { type: 'ping', t: Date.now(), ...(this.bridge.rttMs === null ? {} : { rttMs: this.bridge.rttMs }) },
          ],
        },
        this.abort.signal,
      )
        .then(() => {
          this.bridge.rttMs = Math.round((performance.now() - t0) * 100) / 100;
        })
        // A heartbeat that got no answer in time only measured nothing; any other failure ends the link.
        .catch((err: unknown) => {
          if (err instanceof SignalTimeout)
            this.o.log.info({ upstream: this.o.upstream.edgeId }, 'heartbeat got no answer in time');
          else this.fail(err);
        })
        .finally(() => {
          this.pinging = false;
        });
    }, HEARTBEAT_MS);
  }

  // Restarts the watchdog: a silent upstream (no heartbeat) counts as gone.
  private kick(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.fail(new DiemcauError('APPL_ERR_MEDIA', 'upstream heartbeat timed out')),
      HEARTBEAT_TIMEOUT_MS,
    );
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    const e =
      err instanceof DiemcauError ? err : new DiemcauError('APPL_ERR_MEDIA', 'upstream link failed', { cause: err });
    this.o.log.warn({ err: e, upstream: this.o.upstream.edgeId }, 'upstream link down');
    this.shutdown(e);
  }

  /** Closes the link and tells the upstream (best effort). Idempotent. */
  close(): void {
    if (this.closed) return;
    request(this.o, 'DELETE', linkPaths.link(this.o.meetingId, this.linkId)).catch(() => {});
    this.shutdown(null);
  }

  private shutdown(err: DiemcauError | null): void {
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.abort.abort();
    this.bridge.close();
    this.events.emit('down', err);
  }
}

/** One JSON request to the upstream's signalling API. */
async function request(
  o: Pick<UpstreamOptions, 'upstream' | 'ca'>,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const up: MediaUpstream = o.upstream;
  const res = await signalCall(up.signalUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${up.linkToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
    ...(o.ca ? { ca: o.ca } : {}),
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const text = res.text;
  if (res.status < 200 || res.status >= 300)
    throw new DiemcauError('APPL_ERR_MEDIA', `${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as unknown) : null;
}
