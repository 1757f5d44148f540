// The edge's HTTP signalling API on fastify. Its operations, who may call each
// and what each answers are in the OpenAPI document the edge serves at
// GET /media/v1/openapi.json (api/openapi.ts); in short:
//   - local clients (the agent, tests) use the edge's admin token, which never
//     leaves the box: plan, stats, refusals, dump, streams, taps (api/admin-routes.ts);
//   - browsers open the join page with a join link the fleet signed for the
//     meeting and this edge's site, and use it (the TV its own token) on the
//     browser-peer routes, each bounded by limits.ts (api/peer-routes.ts);
//   - downstream edges use the meeting's link token, from the addresses the plan
//     names for them (api/link-routes.ts, link/admission.ts);
//   - the TV's kiosk page is answered to this box only (kiosk.ts).
// Access is decided on the matched route (api/access.ts); every refusal leaves
// as the shared error body and is counted (api/errors.ts).
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { MAX_PAYLOAD_BYTES } from '@diemcau/shared';
import { readAgentVersion } from '../agent/version.js';
import type { Edge } from './edge.js';
import { installAccess } from './api/access.js';
import { adminRoutes } from './api/admin-routes.js';
import { errorAnswers, installErrorHandling } from './api/errors.js';
import { iconRoute } from './api/icon-route.js';
import { linkRoutes } from './api/link-routes.js';
import { installOpenApi } from './api/openapi.js';
import { peerRoutes } from './api/peer-routes.js';
import { installSchemas } from './api/schemas.js';

export interface SignalServerOptions {
  edge: Edge;
  adminToken: string;
  /**
   * A fixed token for browsers (an edge without a fleet: a lab, tests); unset,
   * browsers join only by a fleet-signed join link. Never the admin token.
   */
  joinToken?: string;
  /**
   * The TV's own token (the kiosk page, answered to this box only): browser-peer
   * routes like the join token, with its own share of the peer budget, so the
   * room's laptops cannot crowd the TV out.
   */
  kioskToken?: string;
  /** Open sockets in total, and from one address. */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /** Certificate and key: HTTPS instead of HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  host: string;
  port: number;
  log: Logger;
  /** More routes on the same port (the box's kiosk page); each names its access class. */
  extraRoutes?: FastifyPluginAsync;
}

/**
 * The target as the router sees it: its path and query as a URL parser reads
 * them (dot segments resolved, an absolute-form target's host dropped), so
 * every spelling the parser takes for a route lands on that route and meets
 * its access rule. A target the parser refuses (`//ki%256fsk/state` reads as
 * a bad host) goes on as sent and matches no route: a 404, never a crash.
 */
function requestTarget(target: string): string {
  try {
    const u = new URL(target, 'http://edge');
    return `${u.pathname}${u.search}`;
  } catch {
    return target;
  }
}

export class SignalServer {
  private readonly app: FastifyInstance;
  private ready: Promise<void> | null = null;
  /** Requests refused, by code: bad input is counted, never fatal. */
  readonly refused = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: SignalServerOptions) {
    const answer = errorAnswers(this.refused, o.log);
    this.app = Fastify({
      ...(o.tls ? { https: { cert: o.tls.cert, key: o.tls.key } } : {}),
      loggerInstance: o.log as FastifyBaseLogger,
      // Refusals are logged once, by api/errors.ts; a request line each would drown a meeting's log.
      disableRequestLogging: true,
      // A request (headers and a body of at most MAX_PAYLOAD_BYTES) arrives in
      // this time or the connection goes: a peer cannot hold a socket by sending
      // slowly. Event streams are responses, which these timeouts do not bound,
      // so they stay open for the meeting's length.
      requestTimeout: 30_000,
      keepAliveTimeout: 65_000,
      bodyLimit: MAX_PAYLOAD_BYTES,
      // HEAD is not part of the API (a GET's HEAD twin would be one more door to guard).
      exposeHeadRoutes: false,
      // Closing ends open event streams and keep-alive sockets too.
      forceCloseConnections: true,
      rewriteUrl: (req) => requestTarget(req.url ?? '/'),
      // A target the router cannot read (a malformed escape, an overlong id) is refused like any other.
      frameworkErrors: (err, req, reply) => answer(err, req, reply),
    });
    installSchemas(this.app);
    installErrorHandling(this.app, answer);
    installAccess(this.app, o.edge, {
      admin: o.adminToken,
      ...(o.joinToken ? { join: o.joinToken } : {}),
      ...(o.kioskToken ? { kiosk: o.kioskToken } : {}),
    });
    this.limitSockets(this.app.server);
  }

  /** Sockets: a bound in total and per address (a district's NAT carries its communes' links). */
  private limitSockets(server: FastifyInstance['server']): void {
    server.headersTimeout = 20_000;
    server.maxConnections = this.o.maxConnections ?? 2048;
    const limit = this.o.maxConnectionsPerAddress ?? 256;
    const perAddress = new Map<string, number>();
    server.on('connection', (socket: Socket) => {
      const addr = socket.remoteAddress ?? '?';
      const n = (perAddress.get(addr) ?? 0) + 1;
      if (n > limit) {
        this.o.edge.refusals.note('connections-per-address', 'too many connections from one address; closed', {
          remote: addr,
          limit,
        });
        socket.destroy();
        return;
      }
      perAddress.set(addr, n);
      socket.once('close', () => {
        const left = (perAddress.get(addr) ?? 1) - 1;
        if (left <= 0) perAddress.delete(addr);
        else perAddress.set(addr, left);
      });
    });
  }

  /** Registers the routes once; the OpenAPI document sees every one of them. */
  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await installOpenApi(this.app, readAgentVersion());
      await this.app.register(adminRoutes, { edge: this.o.edge, refused: this.refused });
      await this.app.register(peerRoutes);
      await this.app.register(linkRoutes);
      await this.app.register(iconRoute);
      if (this.o.extraRoutes) await this.app.register(this.o.extraRoutes);
      await this.app.ready();
    })();
    return this.ready;
  }

  /** The OpenAPI document, as GET /media/v1/openapi.json serves it. */
  async openapi(): Promise<unknown> {
    await this.prepare();
    return this.app.swagger();
  }

  async listen(): Promise<string> {
    await this.prepare();
    await this.app.listen({ port: this.o.port, host: this.o.host });
    const a = this.app.server.address() as AddressInfo;
    return `${this.o.tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.app.close();
  }
}
