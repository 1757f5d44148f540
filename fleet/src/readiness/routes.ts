// HTTP face of the readiness check: the board of one meeting, and a new round
// on request. Auth runs before these handlers; the meeting's visibility rules
// (an operator sees the meetings of their area) are the meetings area's.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DiemcauError, SiteIdSchema } from '@diemcau/shared';
import type { MeetingOperator, MeetingService } from '../meetings/service.js';
import { meetingState } from '../meetings/model.js';
import { READINESS_COLOURS } from './grade.js';
import type { ReadinessRow } from './repository.js';
import type { ReadinessService } from './service.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const ErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
const PartState = Type.Union(['ok', 'missing', 'fault', 'unknown'].map((s) => Type.Literal(s)));

const ReasonSchema = Type.Object({
  code: Type.String({
    description:
      'stable: camera, microphone, display, link-unreachable, link-loss, link-rtt, link-bandwidth, no-box, no-answer',
  }),
  level: Type.Union([Type.Literal('amber'), Type.Literal('red')]),
  vi: Type.String({ description: 'the reason in Vietnamese' }),
  en: Type.String({ description: 'the reason in English' }),
});

export const ReadinessSiteSchema = Type.Object({
  siteId: Type.String(),
  siteName: Type.String(),
  colour: Type.Union(READINESS_COLOURS.map((c) => Type.Literal(c))),
  reasons: Type.Array(ReasonSchema),
  /** When the site's probe slot starts; null for a site without a box. */
  runAt: Nullable(Type.String({ format: 'date-time' })),
  reportedAt: Nullable(Type.String({ format: 'date-time' })),
  measured: Nullable(
    Type.Object({
      camera: PartState,
      microphone: PartState,
      display: PartState,
      /** Null when the site hosts the meeting (no link up to test). */
      link: Nullable(
        Type.Object({
          edgeId: Type.String(),
          lossRate: Type.Number(),
          rttMsP50: Nullable(Type.Number()),
          rttMsP95: Nullable(Type.Number()),
          throughputKbps: Type.Number(),
          rateKbps: Type.Number(),
        }),
      ),
    }),
  ),
});

export const ReadinessBoardSchema = Type.Object({
  meetingId: Type.String(),
  title: Type.String(),
  state: Type.Union([Type.Literal('scheduled'), Type.Literal('live'), Type.Literal('ended')]),
  startsAt: Type.String({ format: 'date-time' }),
  /** Minutes before the start the check runs. */
  leadMin: Type.Integer(),
  counts: Type.Object({ pending: Type.Integer(), green: Type.Integer(), amber: Type.Integer(), red: Type.Integer() }),
  /** Red first, then amber, pending, green; by name within a colour. Empty before the check has started. */
  sites: Type.Array(ReadinessSiteSchema),
});
export type ReadinessBoard = Static<typeof ReadinessBoardSchema>;

const ORDER = { red: 0, amber: 1, pending: 2, green: 3 } as const;
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function siteView(r: ReadinessRow, name: string): Static<typeof ReadinessSiteSchema> {
  const p = r.report?.probe ?? null;
  return {
    siteId: r.siteId,
    siteName: name,
    colour: r.colour,
    reasons: r.reasons,
    runAt: iso(r.runAt),
    reportedAt: iso(r.reportedAt),
    measured: r.report
      ? {
          camera: r.report.camera.state,
          microphone: r.report.microphone.state,
          display: r.report.display.state,
          link: p
            ? {
                edgeId: p.edgeId,
                lossRate: p.lossRate,
                rttMsP50: p.rttMsP50,
                rttMsP95: p.rttMsP95,
                throughputKbps: p.throughputKbps,
                rateKbps: p.rateKbps,
              }
            : null,
        }
      : null,
  };
}

export interface ReadinessRoutesOptions {
  meetings: MeetingService;
  readiness: ReadinessService;
  leadMin: number;
  siteName: (siteId: string) => string | undefined;
  operatorOf: (req: FastifyRequest) => MeetingOperator;
  now: () => number;
}

export async function readinessRoutes(app: FastifyInstance, o: ReadinessRoutesOptions): Promise<void> {
  const tags = ['meetings'];
  const params = Type.Object({ id: Type.String({ maxLength: 64 }) });

  const board = async (id: string, op: MeetingOperator): Promise<ReadinessBoard> => {
    const m = await o.meetings.get(op, id);
    const rows = await o.readiness.rows(m.id);
    const sites = rows
      .map((r) => siteView(r, o.siteName(r.siteId) ?? r.siteId))
      .sort((a, b) => ORDER[a.colour] - ORDER[b.colour] || a.siteName.localeCompare(b.siteName, 'vi'));
    const counts = { pending: 0, green: 0, amber: 0, red: 0 };
    for (const s of sites) counts[s.colour] += 1;
    return {
      meetingId: m.id,
      title: m.title,
      state: meetingState(m, o.now()),
      startsAt: new Date(m.startsAt).toISOString(),
      leadMin: o.leadMin,
      counts,
      sites,
    };
  };

  app.get<{ Params: { id: string } }>(
    '/meetings/:id/readiness',
    {
      schema: {
        tags,
        summary:
          "The readiness board of a meeting: each site's colour (green, amber, red) with its reasons in Vietnamese and English, and what its box measured (camera, microphone, TV, loss, round trip and bandwidth to its upstream edge)",
        params,
        response: { 200: ReadinessBoardSchema, ...errors },
      },
    },
    async (req) => board(req.params.id, o.operatorOf(req)),
  );

  app.get<{ Params: { id: string; siteId: string } }>(
    '/meetings/:id/readiness/:siteId/snapshot',
    {
      schema: {
        tags,
        summary:
          "The room's picture from its readiness check (small and grey: w×h luma bytes, base64), for the chair's roll call",
        params: Type.Object({ id: Type.String({ maxLength: 64 }), siteId: SiteIdSchema }),
        response: {
          200: Type.Object({
            siteId: Type.String(),
            at: Type.String({ format: 'date-time' }),
            w: Type.Integer(),
            h: Type.Integer(),
            grey: Type.String(),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const m = await o.meetings.get(o.operatorOf(req), req.params.id);
      const row = (await o.readiness.rows(m.id)).find((r) => r.siteId === req.params.siteId);
      const snap = row?.report?.snapshot;
      if (!row || !snap || row.reportedAt === null)
        throw new DiemcauError('FLEET_ERR_NOT_FOUND', `no picture of ${req.params.siteId} in meeting ${m.id}`);
      return { siteId: row.siteId, at: new Date(row.reportedAt).toISOString(), ...snap };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/meetings/:id/readiness',
    {
      schema: {
        tags,
        summary:
          'Check every site of a meeting again now (after a room was fixed); staggered like the first round. Refused once the meeting has ended',
        params,
        response: { 202: ReadinessBoardSchema, ...errors },
      },
    },
    async (req, reply) => {
      const op = o.operatorOf(req);
      const m = await o.meetings.forChair(op, req.params.id);
      if (meetingState(m, o.now()) === 'ended')
        throw new DiemcauError('FLEET_ERR_CONFLICT', `meeting ${m.id} has ended`);
      await o.readiness.rerun(m);
      return reply.code(202).send(await board(m.id, op));
    },
  );
}
