import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { withoutSerials } from '../api/serial-privacy.js';
import { frame, visibleTo, type UiEvent, type Viewer } from './ui-events.js';

// The dashboards' live connections. One hub per fleet: the bus listeners are
// registered once and each event is written to every stream allowed to see it.
// A browser that stops reading (a laptop asleep) is cut off once its backlog
// passes a bound, instead of growing the fleet's memory; it reconnects and
// reloads its snapshot.

export interface StreamHubOptions {
  log: Logger;
  /** Comment lines at this interval keep proxies and the browser from timing out. */
  heartbeatMs?: number;
  /** Bytes queued for one client before it is dropped. */
  maxBacklogBytes?: number;
  /** Streams one operator may hold open at once (a wall, a few desks and tablets); more answer 429. */
  maxPerLabel?: number;
}

interface Client {
  res: ServerResponse;
  viewer: Viewer;
  label: string;
  accept: (e: UiEvent) => boolean;
}

export class StreamHub {
  private readonly clients = new Set<Client>();
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;
  private readonly maxBacklog: number;
  /** Counters for /metrics or tests: events written, clients dropped for backlog, streams refused over the cap. */
  readonly stats = { sent: 0, dropped: 0, refused: 0 };

  constructor(private readonly opts: StreamHubOptions) {
    this.maxBacklog = opts.maxBacklogBytes ?? 1 << 20;
    this.timer = setInterval(() => this.writeAll(': ping\n\n'), opts.heartbeatMs ?? 15_000);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over `res` (headers not sent yet) until the client goes away or the hub closes. */
  attach(res: ServerResponse, viewer: Viewer, label: string, accept: (e: UiEvent) => boolean = () => true): void {
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    // One token cannot make the fleet hold streams without end.
    let open = 0;
    for (const c of this.clients) if (c.label === label) open++;
    if (open >= (this.opts.maxPerLabel ?? 16)) {
      this.stats.refused++;
      this.opts.log.warn({ client: label, open }, 'dashboard stream refused: too many open for this operator');
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          code: 'FLEET_ERR_RATE_LIMITED',
          message: `at most ${open} live streams per operator; close one first`,
        }),
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx in front must not buffer the stream
    });
    const client: Client = { res, viewer, label, accept };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.write('retry: 2000\n\n');
    this.write(client, frame({ type: 'hello', at: new Date().toISOString() }));
  }

  publish(e: UiEvent): void {
    let text: string | undefined;
    let hidden: string | undefined;
    for (const c of this.clients) {
      if (!c.accept(e) || !visibleTo(c.viewer, e)) continue;
      // No event carries a serial today; a later one (an alert's details, a
      // command's output) must not reach a viewer's wall screen with one.
      if (c.viewer.hideSerials) this.write(c, (hidden ??= frame(withoutSerials(e) as UiEvent)));
      else this.write(c, (text ??= frame(e)));
      this.stats.sent++;
    }
  }

  private writeAll(text: string): void {
    for (const c of this.clients) this.write(c, text);
  }

  private write(c: Client, text: string): void {
    if (c.res.writableLength > this.maxBacklog) {
      this.stats.dropped++;
      this.opts.log.warn({ client: c.label, backlog: c.res.writableLength }, 'dashboard stream not reading; dropped');
      this.clients.delete(c);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  /** Ends the streams opened under `label` (an operator's id): its token was revoked. */
  end(label: string): number {
    let ended = 0;
    for (const c of this.clients) {
      if (c.label !== label) continue;
      this.clients.delete(c);
      c.res.end();
      ended++;
    }
    return ended;
  }

  /** Ends every stream; idempotent. Called before the HTTP server closes, or it would wait for them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
