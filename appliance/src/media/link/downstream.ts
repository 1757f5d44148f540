// A link from a downstream edge, as the upstream edge holds it: the pipe
// bridge plus the server-sent event stream that carries our events down.
// Events produced before the downstream edge opens its stream are queued.
// The link closes when the event stream ends, when it is not opened in time,
// or when the downstream edge deletes it.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AddressSet } from '../addresses.js';
import type { PipeBridge } from './bridge.js';
import { HEARTBEAT_MS, type LinkEvent } from './protocol.js';

const ATTACH_TIMEOUT_MS = 10_000;
const MAX_QUEUED = 4096;

export class DownstreamLink {
  bridge!: PipeBridge;
  private res: ServerResponse | null = null;
  private queue: LinkEvent[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly attachTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly peerEdgeId: string,
    /** Addresses the plan names for the downstream edge: its later requests must come from one of them. */
    private readonly allowed: AddressSet,
    private readonly log: Logger,
    private readonly onClose: () => void,
  ) {
    this.attachTimer = setTimeout(() => {
      this.log.warn({ peerEdgeId }, 'downstream edge never opened its event stream');
      this.close();
    }, ATTACH_TIMEOUT_MS);
  }

  get id(): string {
    return this.bridge.id;
  }

  allows(source: string | undefined): boolean {
    return source !== undefined && this.allowed.has(source);
  }

  /** Used as the bridge's `send`. */
  readonly send = (ev: LinkEvent): void => {
    if (this.closed) return;
    if (this.res) {
      this.res.write(`data: ${JSON.stringify(ev)}\n\n`);
      return;
    }
    if (this.queue.length >= MAX_QUEUED) {
      this.log.warn({ peerEdgeId: this.peerEdgeId }, 'link event queue overflow');
      this.close();
      return;
    }
    this.queue.push(ev);
  };

  /** The downstream edge opened GET .../events: from now on events flow to it. */
  attach(res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(410).end();
      return;
    }
    if (this.res) {
      res.writeHead(409).end();
      return;
    }
    clearTimeout(this.attachTimer);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.socket?.setNoDelay(true);
    res.socket?.setKeepAlive(true, 5000);
    this.res = res;
    this.bridge.state = 'connected';
    for (const ev of this.queue) this.send(ev);
    this.queue = [];
    this.heartbeat = setInterval(() => this.send({ type: 'ping', t: Date.now() }), HEARTBEAT_MS);
    // A killed or vanished downstream edge ends here (its TCP connection closes).
    res.on('close', () => this.close());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.attachTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.queue = [];
    if (this.res && !this.res.writableEnded) this.res.end();
    this.bridge.close();
    this.log.info({ peerEdgeId: this.peerEdgeId, linkId: this.bridge.id }, 'downstream link closed');
    this.onClose();
  }
}
