// POST /api/v1/meetings/:id/join-links: a fleet-signed, expiring link for a
// laptop, phone or tablet to join one site of a meeting through that site's
// edge (shared/src/join-link.ts says what it holds and how the edge checks it).
// The operator needs the site in scope; the link never outlives the meeting.
// GET /api/v1/meetings/:id/join-links lists the links issued (by id, never
// the link) and DELETE .../join-links/:linkId revokes one: the edge of its site
// then refuses it and closes the browsers that joined with it.
// POST /api/v1/meetings/:id/roll-call/picture: the same machinery for the
// chair's console, a `monitor` link that shows it the called room live.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { JoinLinkIdSchema, JoinRoleSchema, SiteIdSchema } from '@diemcau/shared';
import { IssuedJoinLinkSchema, JoinLinkSchema, RollCallPictureSchema } from './schemas.js';
import { MAX_JOIN_LINK_MIN, type JoinLinkView, type MeetingOperator, type MeetingService } from './service.js';

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

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

const linkView = (l: JoinLinkView): Static<typeof IssuedJoinLinkSchema> => ({
  id: l.jti,
  meetingId: l.meetingId,
  siteId: l.siteId,
  role: l.role,
  state: l.state,
  issuedAt: iso(l.issuedAt)!,
  expiresAt: iso(l.expiresAt)!,
  issuedBy: l.issuedBy,
  revokedAt: iso(l.revokedAt),
  revokedBy: l.revokedBy,
});

const MeetingParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

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
        id: c.jti,
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
        id: c.jti,
        meetingId: c.meetingId,
        chairSiteId: c.siteId,
        calledSiteId: issued.calledSiteId,
        expiresAt: new Date(c.exp * 1000).toISOString(),
        edgeId: issued.edgeId,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/meetings/:id/join-links',
    {
      schema: {
        tags: ['meetings'],
        summary:
          "The meeting's issued join links (the chair's monitor links too) that the operator may issue for its sites, or issued itself, newest first: id, site, role, state and times, never the link",
        params: MeetingParams,
        response: { 200: Type.Object({ items: Type.Array(IssuedJoinLinkSchema) }), ...o.errors },
      },
    },
    async (req) => ({ items: (await o.service.joinLinks(o.operatorOf(req), req.params.id)).map(linkView) }),
  );

  app.delete<{ Params: { id: string; linkId: string } }>(
    '/meetings/:id/join-links/:linkId',
    {
      schema: {
        tags: ['meetings'],
        summary:
          'Revoke a join link: the edge of its site refuses it at once and closes the browsers that joined with it (their page says so); scoped like issuing. Revoking it again changes nothing',
        params: Type.Object({ id: Type.String({ maxLength: 64 }), linkId: JoinLinkIdSchema }),
        response: { 200: IssuedJoinLinkSchema, ...o.errors },
      },
    },
    async (req) => {
      const revoked = await o.service.revokeJoinLink(o.operatorOf(req), req.params.id, req.params.linkId);
      req.auditTarget = `meeting:${revoked.meetingId}`;
      req.auditDetails = { siteId: revoked.siteId, role: revoked.role, jti: revoked.jti };
      return linkView(revoked);
    },
  );
}
