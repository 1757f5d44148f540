// HTTP face of the meetings area: /api/v1/meetings. Auth runs before these
// handlers; `operatorOf` reads what it attached to the request.
import type {} from '@fastify/swagger'; // adds tags/summary to route schemas
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DiemcauError, SiteIdSchema } from '@diemcau/shared';
import type { CascadePlan } from './cascade.js';
import type { CascadeSchema } from './schemas.js';
import { MeetingCreatedSchema, MeetingDetailSchema, MeetingSchema } from './schemas.js';
import { meetingState, type MeetingRecord } from './model.js';
import type { ChairControl, MeetingOperator, MeetingService } from './service.js';
import type { SpeakRequests } from './requests.js';
import { joinLinkRoute } from './join-link-route.js';
import type { LiveStats } from './stats.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const CreateMeetingSchema = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    chairSiteId: SiteIdSchema,
    /** Participants besides the chair (the chair may be listed too). */
    siteIds: Type.Array(SiteIdSchema, { maxItems: 1000 }),
    /** When it starts; now when absent. */
    startsAt: Type.Optional(Type.String({ format: 'date-time' })),
    durationMin: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 })),
  },
  { additionalProperties: false },
);
export type CreateMeetingBody = Static<typeof CreateMeetingSchema>;

const ErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function meetingView(m: MeetingRecord, now: number): Static<typeof MeetingSchema> {
  return {
    id: m.id,
    title: m.title,
    state: meetingState(m, now),
    chairSiteId: m.chairSiteId,
    siteIds: m.siteIds,
    startsAt: iso(m.startsAt)!,
    endsAt: iso(m.endsAt)!,
    endedAt: iso(m.endedAt),
    mutedAll: m.mutedAll,
    floorSiteId: m.floorSiteId,
    rollCallSiteId: m.rollCallSiteId,
    createdBy: m.createdBy,
  };
}

export function cascadeView(plan: CascadePlan, coreEdgeId: string): Static<typeof CascadeSchema> {
  return {
    hostEdgeId: plan.hostEdgeId,
    coreLinks: plan.links.filter((l) => l.upstreamEdgeId === coreEdgeId).length,
    links: plan.links.length,
    unreachableSiteIds: plan.unreachableSiteIds,
    edges: plan.entries,
  };
}

export interface MeetingRoutesOptions {
  service: MeetingService;
  stats: LiveStats;
  requests: SpeakRequests;
  coreEdgeId: string;
  operatorOf: (req: FastifyRequest) => MeetingOperator;
  now: () => number;
}

export async function meetingRoutes(app: FastifyInstance, opts: MeetingRoutesOptions): Promise<void> {
  const { service, stats, requests, operatorOf, now } = opts;
  const tags = ['meetings'];

  app.post<{ Body: CreateMeetingBody }>(
    '/meetings',
    {
      schema: {
        tags,
        summary: 'Create a meeting now or schedule one: chair site and participants; planned over the cascade',
        body: CreateMeetingSchema,
        response: { 201: MeetingCreatedSchema, ...errors },
      },
    },
    async (req, reply) => {
      const { meeting, plan } = await service.create(operatorOf(req), req.body);
      return reply.code(201).send({ ...meetingView(meeting, now()), cascade: cascadeView(plan, opts.coreEdgeId) });
    },
  );

  app.get<{ Querystring: { active?: boolean; limit?: number } }>(
    '/meetings',
    {
      schema: {
        tags,
        summary: 'Meetings: live and scheduled ones (active=true, default) or the most recent ones',
        querystring: Type.Object({
          active: Type.Optional(Type.Boolean({ default: true })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        }),
        response: { 200: Type.Object({ items: Type.Array(MeetingSchema) }), ...errors },
      },
    },
    async (req) => {
      const items = await service.list(operatorOf(req), {
        active: req.query.active ?? true,
        limit: req.query.limit ?? 100,
      });
      const t = now();
      return { items: items.map((m) => meetingView(m, t)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/meetings/:id',
    {
      schema: {
        tags,
        summary:
          "One meeting with its cascade, live per-site media stats (bitrate by kind, loss, jitter, RTT, the upstream's view) and the rooms asking to speak",
        params: IdParams,
        response: { 200: MeetingDetailSchema, ...errors },
      },
    },
    async (req) => {
      const m = await service.get(operatorOf(req), req.params.id);
      const plan = service.plan(m, await service.directory());
      return {
        ...meetingView(m, now()),
        cascade: cascadeView(plan, opts.coreEdgeId),
        stats: stats.forMeeting(plan),
        requests: await requests.list(m.id),
      };
    },
  );

  // Chair controls: one route each, all answering with the meeting as it now is.
  const control = <S extends TSchema>(
    path: string,
    summary: string,
    body: S,
    toControl: (b: Static<S>) => ChairControl,
  ) =>
    app.post<{ Params: { id: string }; Body: Static<S> }>(
      `/meetings/:id/${path}`,
      { schema: { tags, summary, params: IdParams, body, response: { 200: MeetingSchema, ...errors } } },
      async (req) => {
        let c = toControl(req.body);
        const op = operatorOf(req);
        // Giving a room the floor answers its request to speak; a browser's
        // request gives its participant the floor too, in the plan the control publishes.
        if (c.action === 'floor' && c.siteId !== null) {
          const open = await service.forChair(op, req.params.id);
          const granted = open.siteIds.includes(c.siteId) ? await requests.answer(open.id, c.siteId) : null;
          c = { ...c, participantId: granted?.participantId ?? null };
        }
        const m = await service.control(op, req.params.id, c);
        return meetingView(m, now());
      },
    );
  control(
    'mute-all',
    "Chair's mute all: every microphone but the chair's (and the floor's) is paused",
    Type.Object({ muted: Type.Boolean() }, { additionalProperties: false }),
    (b) => ({ action: 'mute-all', muted: b.muted }),
  );
  control(
    'floor',
    'Give the floor to one site (its microphone opens); null takes it back',
    Type.Object({ siteId: Nullable(SiteIdSchema) }, { additionalProperties: false }),
    (b) => ({ action: 'floor', siteId: b.siteId }),
  );
  control(
    'roll-call',
    'Roll call: show one site to everyone; null ends the roll call',
    Type.Object({ siteId: Nullable(SiteIdSchema) }, { additionalProperties: false }),
    (b) => ({ action: 'roll-call', siteId: b.siteId }),
  );

  app.delete<{ Params: { id: string; siteId: string } }>(
    '/meetings/:id/requests/:siteId',
    {
      schema: {
        tags,
        summary: "Set a room's request to speak aside without giving it the floor",
        params: Type.Object({ id: Type.String({ maxLength: 64 }), siteId: SiteIdSchema }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      const m = await service.forChair(operatorOf(req), req.params.id);
      if (!(await requests.answer(m.id, req.params.siteId)))
        throw new DiemcauError('FLEET_ERR_NOT_FOUND', `no request to speak from ${req.params.siteId}`);
      return reply.code(204).send(null);
    },
  );

  joinLinkRoute(app, { service, operatorOf, errors });

  app.post<{ Params: { id: string } }>(
    '/meetings/:id/end',
    {
      schema: {
        tags,
        summary: 'End a live meeting (or cancel a scheduled one); every edge closes it',
        params: IdParams,
        response: { 200: MeetingSchema, ...errors },
      },
    },
    async (req) => meetingView(await service.end(operatorOf(req), req.params.id), now()),
  );
}
