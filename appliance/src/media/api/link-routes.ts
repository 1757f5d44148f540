// Cascade links from downstream edges (the protocol: link/protocol.ts). Each
// takes the meeting's link token from the plan; an offer is admitted only
// from an address the plan names for that downstream edge, for the sites the
// plan gives it (link/admission.ts); later requests on the link only from the
// address its offer came from (api/access.ts).
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LinkAnswerSchema, LinkEventBatchSchema, LinkOfferSchema } from '../link/protocol.js';
import { linkOf, roomOf } from './access.js';
import { Done, EventStream, LinkParams, MeetingParams, refusals } from './schemas.js';

export const linkRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const M = '/media/v1/meetings/:meetingId/links';

  app.post(
    M,
    {
      config: { access: 'link' },
      schema: {
        operationId: 'offerLink',
        tags: ['cascade'],
        summary: "A downstream edge links in: its pipe transport's address and SRTP key; answers this edge's",
        params: MeetingParams,
        body: LinkOfferSchema,
        response: { 201: LinkAnswerSchema, ...refusals(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => reply.status(201).send(await roomOf(req).acceptLink(req.body, req.socket.remoteAddress)),
  );

  app.get(
    `${M}/:linkId/events`,
    {
      config: { access: 'link' },
      schema: {
        operationId: 'streamLinkEvents',
        tags: ['cascade'],
        summary: "This edge's link events to the downstream edge; the stream is the link's liveness",
        params: LinkParams,
        response: {
          200: EventStream,
          409: Type.Null({ description: 'The link already has its event stream open; no body' }),
          410: Type.Null({ description: 'The link closed before its stream was opened; no body' }),
          ...refusals(400, 401, 403, 404),
        },
      },
    },
    async (req, reply) => {
      const link = linkOf(req);
      // The link writes its events itself, for the meeting's length: fastify lets go of the reply.
      reply.hijack();
      link.attach(reply.raw);
    },
  );

  app.post(
    `${M}/:linkId/events`,
    {
      config: { access: 'link' },
      schema: {
        operationId: 'sendLinkEvents',
        tags: ['cascade'],
        summary: "The downstream edge's link events to this edge",
        params: LinkParams,
        body: LinkEventBatchSchema,
        response: { 204: Done, ...refusals(400, 401, 403, 404, 413) },
      },
    },
    async (req, reply) => {
      const link = linkOf(req);
      for (const ev of req.body.events) void link.bridge.receive(ev);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    `${M}/:linkId`,
    {
      config: { access: 'link' },
      schema: {
        operationId: 'closeLink',
        tags: ['cascade'],
        summary: 'Close the link and everything that crossed it',
        params: LinkParams,
        response: { 204: Done, ...refusals(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      linkOf(req).close();
      return reply.status(204).send(null);
    },
  );
};
