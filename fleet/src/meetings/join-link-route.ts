// POST /api/v1/meetings/:id/join-links: a fleet-signed, expiring link for a
// laptop, phone or tablet to join one site of a meeting through that site's
// edge (shared/src/join-link.ts says what it holds and how the edge checks it).
// The operator needs the site in scope; the link never outlives the meeting.
// POST /api/v1/meetings/:id/roll-call/picture: the same machinery for the
// chair's console, a `monitor` link that shows it the called room live.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { JoinRoleSchema, SiteIdSchema } from '@diemcau/shared';
import { JoinLinkSchema, RollCallPictureSchema } from './schemas.js';
import { MAX_JOIN_LINK_MIN, type MeetingOperator, type MeetingService } from './service.js';

export const CreateJoinLinkSchema = Type.Object(
  {
    siteId: SiteIdSchema,
    /** participant (default): camera, microphone, asking to speak; listener: receives only. */
    role: Type.Optional(JoinRoleSchema),
    /** Minutes the link is valid (default 120); it expires with the meeting's planned end in any case. */
    ttlMin: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_JOIN_LINK_MIN })),
  },
  { additionalProperties: false },
);

export function joinLinkRoute(
  app: FastifyInstance,
  o: {
    service: MeetingService;
    operatorOf: (req: FastifyRequest) => MeetingOperator;
    errors: Record<number, TSchema>;
  },
): void {
  app.post<{ Params: { id: string }; Body: Static<typeof CreateJoinLinkSchema> }>(
    '/meetings/:id/join-links',
    {
      schema: {
        tags: ['meetings'],
        summary:
          "A signed, expiring join link for one site of the meeting: a browser opens it on that site's edge (HTTPS with the province's CA) and joins as a participant or listener",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: CreateJoinLinkSchema,
        response: { 201: JoinLinkSchema, ...o.errors },
      },
    },
    async (req, reply) => {
      const role = req.body.role ?? 'participant';
      const issued = await o.service.joinLink(o.operatorOf(req), req.params.id, {
        siteId: req.body.siteId,
        role,
        ttlMin: req.body.ttlMin ?? 120,
      });
      const c = issued.claims;
      // The audit row names the link by its id, never the link itself (a bearer credential).
      req.auditTarget = `meeting:${c.meetingId}`;
      req.auditDetails = { siteId: c.siteId, role: c.role, jti: c.jti, exp: c.exp };
      return reply.code(201).send({
        link: issued.link,
        url: issued.url,
        meetingId: c.meetingId,
        siteId: c.siteId,
        role,
        expiresAt: new Date(c.exp * 1000).toISOString(),
        edgeId: issued.edgeId,
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/meetings/:id/roll-call/picture',
    {
      schema: {
        tags: ['meetings'],
        summary:
          "The called room's live picture for the chair's console during a roll call: a short-lived monitor link on the chairing site's edge, which receives that room's picture (its small layer where the edge has one) and nothing else",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 201: RollCallPictureSchema, ...o.errors },
      },
    },
    async (req, reply) => {
      const issued = await o.service.rollCallPicture(o.operatorOf(req), req.params.id);
      const c = issued.claims;
      req.auditTarget = `meeting:${c.meetingId}`;
      req.auditDetails = { siteId: c.siteId, role: c.role, jti: c.jti, exp: c.exp, called: issued.calledSiteId };
      return reply.code(201).send({
        url: issued.url,
        meetingId: c.meetingId,
        chairSiteId: c.siteId,
        calledSiteId: issued.calledSiteId,
        expiresAt: new Date(c.exp * 1000).toISOString(),
        edgeId: issued.edgeId,
      });
    },
  );
}
