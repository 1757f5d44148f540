// The edge's HTTP signalling API (node:http; a handful of routes, no framework).
//
// Local clients (the agent, tests) use the edge's admin token, which never leaves the box:
//   GET    /media/v1/health                                    (no token)
//   GET    /media/v1/refusals                                  refused requests by reason and code
//   PUT    /media/v1/plan                     MediaPlan        apply a plan
//   GET    /media/v1/stats                                     MediaStats
//   GET    /media/v1/dump                                      worker's view of every room
//   GET    /media/v1/meetings/{m}/streams                      streams in the room
//   POST   /media/v1/meetings/{m}/taps        {producerId, ip, port, rtcpPort?} -> {tapId, sdp}
//                                             (only to addresses DIEMCAU_EDGE_TAP_ALLOW allows)
//   DELETE /media/v1/meetings/{m}/taps/{tapId}
// Downstream edges use the meeting's link token (see link/protocol.ts for the link routes), from
// the addresses the plan names for them (link/admission.ts).
// Browsers open GET /media/v1/join?meeting={m}&token={joinToken} (the TV adds &view=kiosk: receive
// only, laid out by layout.ts) and then, with the join token (browser-peer routes only; each
// bounded by limits.ts, 429 past a limit):
//   POST   /media/v1/meetings/{m}/peers                          -> {peerId, rtpCapabilities}
//   POST   /media/v1/meetings/{m}/peers/{p}/transports           -> {id, iceParameters, iceCandidates, dtlsParameters}
//   POST   /media/v1/meetings/{m}/peers/{p}/transports/{t}/connect {dtlsParameters}
//   POST   /media/v1/meetings/{m}/peers/{p}/produce              {transportId, kind, rtpParameters} -> {id}
//   GET    /media/v1/meetings/{m}/peers/{p}/streams              streams it may consume
//   GET    /media/v1/meetings/{m}/peers/{p}/layout               {large, small} site ids for the TV (kiosk view)
//   POST   /media/v1/meetings/{m}/peers/{p}/consume              {transportId, producerId, rtpCapabilities} -> {id, kind, rtpParameters, siteId}
//   POST   /media/v1/meetings/{m}/peers/{p}/consumers/{c}/resume
//   DELETE /media/v1/meetings/{m}/peers/{p}
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import { DiemcauError, codec, mediaPlanCodec } from '@diemcau/shared';
import type { Edge } from './edge.js';
import { bearer, errorBody, readBody, sameToken, sendJson, sendText } from './http.js';
import { linkEventBatchCodec, linkOfferCodec } from './link/protocol.js';
import { MEDIASOUP_VERSION } from './adapter/index.js';
import type { MeetingRoom } from './room.js';
import { JOIN_HTML, joinScript } from './web/page.js';

const Obj = Type.Object({}, { additionalProperties: true });
const connectCodec = codec(Type.Object({ dtlsParameters: Obj }));
const produceCodec = codec(Type.Object({ transportId: Type.String({ maxLength: 64 }), kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]), rtpParameters: Obj }));
const consumeCodec = codec(Type.Object({ transportId: Type.String({ maxLength: 64 }), producerId: Type.String({ maxLength: 64 }), rtpCapabilities: Obj }));

const tapCodec = codec(
  Type.Object({
    producerId: Type.String({ minLength: 1, maxLength: 64 }),
    ip: Type.String({ minLength: 1, maxLength: 64 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    rtcpPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  }),
);

/** The path of a request target; one that does not parse names no route. */
function parseTarget(target: string): string {
  try {
    return new URL(target, 'http://edge').pathname;
  } catch {
    throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such route');
  }
}

/** A path parameter, percent-decoded; a malformed escape (`%zz`, a lone surrogate) names nothing here. */
function decodeParam(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'malformed escape in the path');
  }
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, params: string[]) => Promise<void>;
export interface Route { method: string; path: RegExp; handler: Handler }

export interface SignalServerOptions {
  edge: Edge;
  adminToken: string;
  /** Token in the join page's URL (browsers in the room): browser-peer routes only. Never the admin token. */
  joinToken: string;
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
  /** More pages on the same port (the box's kiosk page); they do their own checks. */
  extraRoutes?: Route[];
}

export class SignalServer {
  private readonly server: http.Server | https.Server;
  private readonly routes: Route[];
  /** Requests refused, by code: bad input is counted, never fatal. */
  readonly refused = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: SignalServerOptions) {
    const admin = (fn: Handler): Handler => async (req, res, p) => {
      if (!sameToken(bearer(req), o.adminToken)) throw new DiemcauError('APPL_ERR_MEDIA_UNAUTHORIZED', 'admin token required');
      return fn(req, res, p);
    };
    // The link token is per meeting: only edges given it by the plan may link in.
    const linked = (fn: (req: http.IncomingMessage, res: http.ServerResponse, room: MeetingRoom, p: string[]) => Promise<void>): Handler =>
      async (req, res, p) => {
        const room = this.room(p[0]!);
        if (!sameToken(bearer(req), room.meeting.acceptToken)) throw new DiemcauError('APPL_ERR_MEDIA_UNAUTHORIZED', 'bad link token for this meeting');
        return fn(req, res, room, p);
      };
    if (sameToken(o.joinToken, o.adminToken)) throw new DiemcauError('APPL_ERR_CONFIG', 'the join token must differ from the admin token');
    // Which credential a browser peer belongs to (its budget share): a label, never the secret.
    const tokenOf = (req: http.IncomingMessage): string => {
      const given = bearer(req);
      if (sameToken(given, o.joinToken)) return 'join';
      if (sameToken(given, o.kioskToken ?? null)) return 'kiosk';
      if (sameToken(given, o.adminToken)) return 'admin';
      throw new DiemcauError('APPL_ERR_MEDIA_UNAUTHORIZED', 'join token required');
    };
    const joined = (fn: (req: http.IncomingMessage, res: http.ServerResponse, room: MeetingRoom, p: string[], token: string) => Promise<void>): Handler =>
      async (req, res, p) => {
        const token = tokenOf(req);
        return fn(req, res, this.room(p[0]!), p, token);
      };
    // Link requests after the offer come from the address the offer was admitted from.
    const fromLinked = (req: http.IncomingMessage, room: MeetingRoom, linkId: string) => {
      const link = this.link(room, linkId);
      const source = req.socket.remoteAddress;
      if (!link.allows(source)) {
        throw o.edge.refusals.refuse('APPL_ERR_MEDIA_FORBIDDEN', 'link-source-not-named', `link ${link.id} is not used from ${source ?? 'an unknown address'}`,
          { meetingId: room.id, peer: link.peerEdgeId, source });
      }
      return link;
    };
    const M = '/media/v1/meetings/([^/]+)';
    const P = `${M}/peers/([^/]+)`;
    this.routes = [
      { method: 'GET', path: /^\/media\/v1\/health$/, handler: async (_q, res) => sendJson(res, 200, {
        edgeId: o.edge.edgeId, role: o.edge.opts.role, revision: o.edge.revision, workerPid: o.edge.workerPid, mediasoup: MEDIASOUP_VERSION,
      }) },
      { method: 'PUT', path: /^\/media\/v1\/plan$/, handler: admin(async (req, res) => {
        const verdict = await o.edge.applyPlan(await readBody(req, mediaPlanCodec));
        sendJson(res, verdict.ok ? 200 : 409, verdict);
      }) },
      { method: 'GET', path: /^\/media\/v1\/stats$/, handler: admin(async (_q, res) => sendJson(res, 200, await o.edge.stats())) },
      { method: 'GET', path: /^\/media\/v1\/refusals$/, handler: admin(async (_q, res) => sendJson(res, 200, {
        byReason: o.edge.refusals.snapshot(), byCode: Object.fromEntries(this.refused), peers: o.edge.budget.peers,
      })) },
      { method: 'GET', path: /^\/media\/v1\/dump$/, handler: admin(async (_q, res) => sendJson(res, 200, await o.edge.dump())) },
      { method: 'GET', path: new RegExp(`^${M}/streams$`), handler: admin(async (_q, res, p) => sendJson(res, 200, this.room(p[0]!).listStreams())) },
      { method: 'POST', path: new RegExp(`^${M}/taps$`), handler: admin(async (req, res, p) => {
        const room = this.room(p[0]!);
        sendJson(res, 201, await room.createTap(await readBody(req, tapCodec)));
      }) },
      { method: 'DELETE', path: new RegExp(`^${M}/taps/([^/]+)$`), handler: admin(async (_q, res, p) => {
        sendJson(res, this.room(p[0]!).closeTap(p[1]!) ? 204 : 404, undefined);
      }) },
      { method: 'GET', path: /^\/media\/v1\/join$/, handler: async (_q, res) => sendText(res, 'text/html; charset=utf-8', JOIN_HTML) },
      { method: 'GET', path: /^\/media\/v1\/join\.js$/, handler: async (_q, res) => sendText(res, 'text/javascript; charset=utf-8', await joinScript()) },
      { method: 'POST', path: new RegExp(`^${M}/peers$`), handler: joined(async (_q, res, room, _p, token) => sendJson(res, 201, room.peers.create(token))) },
      { method: 'POST', path: new RegExp(`^${P}/transports$`), handler: joined(async (_q, res, room, p) => sendJson(res, 201, await room.peers.createTransport(p[1]!))) },
      { method: 'POST', path: new RegExp(`^${P}/transports/([^/]+)/connect$`), handler: joined(async (req, res, room, p) => {
        await room.peers.connect(p[1]!, p[2]!, (await readBody(req, connectCodec)).dtlsParameters);
        sendJson(res, 204, undefined);
      }) },
      { method: 'POST', path: new RegExp(`^${P}/produce$`), handler: joined(async (req, res, room, p) => {
        const b = await readBody(req, produceCodec);
        sendJson(res, 201, await room.peers.produce(p[1]!, b.transportId, b.kind, b.rtpParameters));
      }) },
      { method: 'GET', path: new RegExp(`^${P}/layout$`), handler: joined(async (_q, res, room) => sendJson(res, 200, room.layout())) },
      { method: 'GET', path: new RegExp(`^${P}/streams$`), handler: joined(async (_q, res, room) => sendJson(res, 200, room.listStreams())) },
      { method: 'POST', path: new RegExp(`^${P}/consume$`), handler: joined(async (req, res, room, p) => {
        const b = await readBody(req, consumeCodec);
        sendJson(res, 201, await room.peers.consume(p[1]!, b.transportId, b.producerId, b.rtpCapabilities));
      }) },
      { method: 'POST', path: new RegExp(`^${P}/consumers/([^/]+)/resume$`), handler: joined(async (_q, res, room, p) => {
        await room.peers.resume(p[1]!, p[2]!);
        sendJson(res, 204, undefined);
      }) },
      { method: 'DELETE', path: new RegExp(`^${P}$`), handler: joined(async (_q, res, room, p) => sendJson(res, room.peers.close(p[1]!) ? 204 : 404, undefined)) },
      { method: 'POST', path: new RegExp(`^${M}/links$`), handler: linked(async (req, res, room) => {
        sendJson(res, 201, await room.acceptLink(await readBody(req, linkOfferCodec), req.socket.remoteAddress));
      }) },
      { method: 'GET', path: new RegExp(`^${M}/links/([^/]+)/events$`), handler: linked(async (req, res, room, p) => {
        fromLinked(req, room, p[1]!).attach(res);
      }) },
      { method: 'POST', path: new RegExp(`^${M}/links/([^/]+)/events$`), handler: linked(async (req, res, room, p) => {
        const link = fromLinked(req, room, p[1]!);
        const batch = await readBody(req, linkEventBatchCodec);
        for (const ev of batch.events) void link.bridge.receive(ev);
        sendJson(res, 204, undefined);
      }) },
      { method: 'DELETE', path: new RegExp(`^${M}/links/([^/]+)$`), handler: linked(async (req, res, room, p) => {
        fromLinked(req, room, p[1]!).close();
        sendJson(res, 204, undefined);
      }) },
    ];
    this.routes.push(...(o.extraRoutes ?? []));
    const dispatch = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.dispatch(req, res);
    this.server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, dispatch) : http.createServer(dispatch);
    // A request (headers and a body of at most MAX_PAYLOAD_BYTES) arrives in
    // this time or the connection goes: a peer cannot hold a socket by sending
    // slowly. Event streams are responses, which these timeouts do not bound,
    // so they stay open for the meeting's length.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 20_000;
    this.server.keepAliveTimeout = 65_000;
    // Sockets: a bound in total and per address (a district's NAT carries its communes' links).
    this.server.maxConnections = o.maxConnections ?? 2048;
    const perAddress = new Map<string, number>();
    this.server.on('connection', (socket: Socket) => {
      const addr = socket.remoteAddress ?? '?';
      const n = (perAddress.get(addr) ?? 0) + 1;
      if (n > (o.maxConnectionsPerAddress ?? 256)) {
        o.edge.refusals.note('connections-per-address', 'too many connections from one address; closed', { remote: addr, limit: o.maxConnectionsPerAddress });
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

  private room(encodedId: string): MeetingRoom {
    const room = this.o.edge.room(decodeParam(encodedId));
    if (!room) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'meeting is not open on this edge');
    return room;
  }

  private link(room: MeetingRoom, linkId: string) {
    const link = room.downstreamLink(decodeParam(linkId));
    if (!link) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such link');
    return link;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let pathname = req.url ?? '/';
    let pathMatched = false;
    try {
      // Parsed inside the try: a target the URL parser refuses (`//ki%256fsk/state`
      // reads as a bad host) must be refused like any other, not end the process.
      pathname = parseTarget(pathname);
      for (const r of this.routes) {
        const m = r.path.exec(pathname);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== req.method) continue;
        return await r.handler(req, res, m.slice(1));
      }
      throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', pathMatched ? `${req.method ?? ''} not allowed here` : 'no such route');
    } catch (err) {
      const { status, body } = errorBody(err);
      this.refused.set(body.code, (this.refused.get(body.code) ?? 0) + 1);
      const line = { method: req.method, path: pathname, status, code: body.code };
      if (status >= 500) this.o.log.error({ ...line, err }, 'request failed');
      else this.o.log.info(line, 'request refused');
      sendJson(res, status, body);
    }
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    return `${this.o.tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
