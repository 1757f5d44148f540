// Browsers in the room: the join page (no token; it carries a fleet-signed
// join link in its URL and sends it as a bearer token) and the browser-peer
// routes it calls with mediasoup-client. These take a join link for this
// meeting and this edge's site, the TV's token or the admin token
// (api/access.ts); each is bounded by limits.ts (429 past a limit, counted by
// reason). A participant may ask to speak; the chair's console shows it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DiemcauError } from '@diemcau/shared';
import { JOIN_HTML, joinScript } from '../web/page.js';
import { peerTokenOf, roomOf } from './access.js';
import {
  ConsumeBody,
  Consumed,
  ConnectBody,
  ConsumerParams,
  Done,
  JoinQuery,
  Layout,
  PeerViewQuery,
  MeetingParams,
  PeerCreated,
  PeerParams,
  ProduceBody,
  Produced,
  SpeakAsked,
  StreamList,
  Text,
  TransportCreated,
  TransportParams,
  refusals,
} from './schemas.js';

const html = 'text/html; charset=utf-8';
const script = 'text/javascript; charset=utf-8';

export const peerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/media/v1/join',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getJoinPage',
        tags: ['browser'],
        summary:
          'The join page: a browser joins the meeting and site its join link names (or, for the TV, the meeting and token in the query)',
        querystring: JoinQuery,
        response: { 200: Text(html, 'The page'), ...refusals(400) },
      },
    },
    async (_req, reply) => reply.type(html).header('cache-control', 'no-store').send(JOIN_HTML),
  );

  app.get(
    '/media/v1/join.js',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getJoinScript',
        tags: ['browser'],
        summary: "The join page's script (mediasoup-client, bundled)",
        response: { 200: Text(script, 'The script') },
      },
    },
    async (_req, reply) =>
      reply
        .type(script)
        .header('cache-control', 'no-store')
        .send(await joinScript()),
  );

  const M = '/media/v1/meetings/:meetingId';
  const P = `${M}/peers/:peerId`;

  app.post(
    `${M}/peers`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'joinPeer',
        tags: ['browser'],
        summary: "Join the meeting's room as a browser peer; answers the router's RTP capabilities",
        params: MeetingParams,
        querystring: PeerViewQuery,
        response: { 201: PeerCreated, ...refusals(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(
          roomOf(req).peers.create(
            peerTokenOf(req),
            req.joinClaims?.role ?? 'participant',
            req.query.view ?? 'grid',
            req.joinClaims ? { id: req.joinClaims.jti, expiresAtMs: req.joinClaims.exp * 1000 } : undefined,
          ),
        ),
  );

  app.post(
    `${P}/speak`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'askToSpeak',
        tags: ['browser'],
        summary:
          "Ask to speak: the chair's console shows the request (from this edge's stats, through the box's agent), and granting it gives this participant the floor with its site",
        params: PeerParams,
        response: { 202: SpeakAsked, ...refusals(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) => {
      const role = req.joinClaims?.role;
      if (role === 'listener' || role === 'monitor') {
        throw new DiemcauError('APPL_ERR_MEDIA_FORBIDDEN', `a ${role} link cannot ask to speak`, {
          details: { reason: `join-link-${role}` },
        });
      }
      return reply.status(202).send(roomOf(req).askToSpeak(req.params.peerId));
    },
  );

  app.post(
    `${P}/transports`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'createPeerTransport',
        tags: ['browser'],
        summary: 'Open a WebRTC transport for the peer',
        params: PeerParams,
        response: { 201: TransportCreated, ...refusals(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) => reply.status(201).send(await roomOf(req).peers.createTransport(req.params.peerId)),
  );

  app.post(
    `${P}/transports/:transportId/connect`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'connectPeerTransport',
        tags: ['browser'],
        summary: "Connect the transport with the browser's DTLS parameters",
        params: TransportParams,
        body: ConnectBody,
        response: { 204: Done, ...refusals(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      await roomOf(req).peers.connect(req.params.peerId, req.params.transportId, req.body.dtlsParameters);
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${P}/produce`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'producePeerStream',
        tags: ['browser'],
        summary: "Send the browser's camera or microphone into the room",
        params: PeerParams,
        body: ProduceBody,
        response: { 201: Produced, ...refusals(400, 401, 403, 404, 409, 413, 429) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      return reply
        .status(201)
        .send(await roomOf(req).peers.produce(req.params.peerId, b.transportId, b.kind, b.rtpParameters));
    },
  );

  app.get(
    `${P}/streams`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'listPeerStreams',
        tags: ['browser'],
        summary: 'Streams the peer may consume',
        params: PeerParams,
        response: { 200: StreamList, ...refusals(400, 401, 403, 404) },
      },
    },
    async (req) => roomOf(req).listStreams(),
  );

  app.get(
    `${P}/layout`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'getPeerLayout',
        tags: ['browser'],
        summary: 'Which sites the TV shows large and small (the kiosk view)',
        params: PeerParams,
        response: { 200: Layout, ...refusals(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const room = roomOf(req);
      return {
        ...room.layout(),
        show: Object.fromEntries(room.peers.shown(req.params.peerId)),
        micClosed: room.peers.micClosed(req.params.peerId),
      };
    },
  );

  app.post(
    `${P}/consume`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'consumePeerStream',
        tags: ['browser'],
        summary: 'Receive one stream of the room on a transport (starts paused)',
        params: PeerParams,
        body: ConsumeBody,
        response: { 201: Consumed, ...refusals(400, 401, 403, 404, 409, 413, 429) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      return reply
        .status(201)
        .send(await roomOf(req).peers.consume(req.params.peerId, b.transportId, b.producerId, b.rtpCapabilities));
    },
  );

  app.post(
    `${P}/consumers/:consumerId/resume`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'resumePeerConsumer',
        tags: ['browser'],
        summary: 'Start a consumer once the browser is ready for it',
        params: ConsumerParams,
        response: { 204: Done, ...refusals(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await roomOf(req).peers.resume(req.params.peerId, req.params.consumerId);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    `${P}/consumers/:consumerId`,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'closePeerConsumer',
        tags: ['browser'],
        summary:
          "Stop receiving one stream (the chair's console steps to the next room); the peer's share of consumers goes back",
        params: ConsumerParams,
        response: { 204: Done, ...refusals(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      roomOf(req).peers.closeConsumer(req.params.peerId, req.params.consumerId);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    P,
    {
      config: { access: 'browser' },
      schema: {
        operationId: 'leavePeer',
        tags: ['browser'],
        summary: 'Leave: close the peer and everything it holds',
        params: PeerParams,
        response: { 204: Done, ...refusals(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      if (!roomOf(req).peers.close(req.params.peerId))
        throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such peer');
      return reply.status(204).send(null);
    },
  );
};
