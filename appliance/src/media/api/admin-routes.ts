// The edge's own routes for local clients: its health (no token), and with
// the admin token (the agent, tests; the token never leaves the box) its
// plan, counters, the worker's view and taps (plain RTP out of a meeting,
// only to addresses DIEMCAU_EDGE_TAP_ALLOW allows: taps.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DiemcauError, MediaPlanSchema, MediaStatsSchema } from '@diemcau/shared';
import { MEDIASOUP_VERSION } from '../adapter/index.js';
import type { Edge } from '../edge.js';
import { roomOf } from './access.js';
import {
  Done,
  Dump,
  Health,
  MeetingParams,
  PlanAccepted,
  PlanRejected,
  Refusals,
  Roster,
  StreamList,
  TapAnswer,
  TapBody,
  TapParams,
  refusals,
} from './schemas.js';

export interface AdminRoutesOptions {
  edge: Edge;
  /** Requests refused, by code (api/errors.ts counts them). */
  refused: ReadonlyMap<string, number>;
}

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (app, { edge, refused }) => {
  app.get(
    '/media/v1/health',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getHealth',
        tags: ['edge'],
        summary: 'Which edge this is, its plan revision and its worker',
        response: { 200: Health },
      },
    },
    async () => ({
      edgeId: edge.edgeId,
      role: edge.opts.role,
      revision: edge.revision,
      workerPid: edge.workerPid,
      mediasoup: MEDIASOUP_VERSION,
    }),
  );

  app.put(
    '/media/v1/plan',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'applyPlan',
        tags: ['edge'],
        summary: 'Apply a media plan (from the agent); answers once the rooms follow it',
        body: MediaPlanSchema,
        response: {
          200: { ...PlanAccepted, description: 'Applied: the rooms follow the plan' },
          409: { ...PlanRejected, description: 'Not for this edge, or older than the plan in force; nothing changed' },
          ...refusals(400, 401, 413),
        },
      },
    },
    async (req, reply) => {
      const verdict = await edge.applyPlan(req.body);
      return reply.status(verdict.ok ? 200 : 409).send(verdict);
    },
  );

  app.get(
    '/media/v1/stats',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'getStats',
        tags: ['edge'],
        summary: 'Media statistics of every room',
        response: { 200: MediaStatsSchema, ...refusals(401) },
      },
    },
    () => edge.stats(),
  );

  app.get(
    '/media/v1/refusals',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'getRefusals',
        tags: ['edge'],
        summary: 'Refused requests by reason and by code, and the browser peers held',
        response: { 200: Refusals, ...refusals(401) },
      },
    },
    async () => ({ byReason: edge.refusals.snapshot(), byCode: Object.fromEntries(refused), peers: edge.budget.peers }),
  );

  app.get(
    '/media/v1/dump',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'getDump',
        tags: ['edge'],
        summary: "The workers' view of every room (leak checks, debugging)",
        response: { 200: Dump, ...refusals(401) },
      },
    },
    () => edge.dump(),
  );

  app.get(
    '/media/v1/meetings/:meetingId/streams',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'listMeetingStreams',
        tags: ['edge'],
        summary: "Streams in the meeting's room",
        params: MeetingParams,
        response: { 200: StreamList, ...refusals(400, 401, 404) },
      },
    },
    async (req) => roomOf(req).listStreams(),
  );

  app.get(
    '/media/v1/meetings/:meetingId/roster',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'getMeetingRoster',
        tags: ['edge'],
        summary: 'Who is in the meeting: every site, its microphone open or closed, whether it has a camera',
        params: MeetingParams,
        response: { 200: Roster, ...refusals(400, 401, 404) },
      },
    },
    async (req) => roomOf(req).rosterEntries(),
  );

  app.post(
    '/media/v1/meetings/:meetingId/taps',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'openTap',
        tags: ['taps'],
        summary: 'Send one stream of the meeting as plain RTP to an allowed address; answers the SDP a receiver needs',
        params: MeetingParams,
        body: TapBody,
        response: { 201: TapAnswer, ...refusals(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => reply.status(201).send(await roomOf(req).createTap(req.body)),
  );

  app.delete(
    '/media/v1/meetings/:meetingId/taps/:tapId',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'closeTap',
        tags: ['taps'],
        summary: 'Close a tap',
        params: TapParams,
        response: { 204: Done, ...refusals(400, 401, 404) },
      },
    },
    async (req, reply) => {
      if (!roomOf(req).closeTap(req.params.tapId)) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such tap');
      return reply.status(204).send(null);
    },
  );
};
