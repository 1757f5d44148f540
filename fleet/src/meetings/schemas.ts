// The meetings API's answers as TypeBox schemas: the routes serialise with
// them, OpenAPI documents them, and the dashboard reads their static types
// (api/http-types.ts). No fastify or Node import here, so the browser's
// typecheck can follow it.
import { Type, type TSchema } from '@sinclair/typebox';
import { MeetingStateSchema, MediaRoleSchema } from '@diemcau/shared';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const MeetingSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  state: MeetingStateSchema,
  chairSiteId: Type.String(),
  siteIds: Type.Array(Type.String()),
  startsAt: Type.String(),
  endsAt: Type.String(),
  endedAt: Nullable(Type.String()),
  mutedAll: Type.Boolean(),
  floorSiteId: Nullable(Type.String()),
  rollCallSiteId: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
});

export const CascadeSchema = Type.Object({
  hostEdgeId: Type.String(),
  /** Pipe links ending at the province's core (0 for a district's own meeting). */
  coreLinks: Type.Integer(),
  links: Type.Integer(),
  unreachableSiteIds: Type.Array(Type.String()),
  edges: Type.Array(
    Type.Object({
      edgeId: Type.String(),
      role: MediaRoleSchema,
      localSiteId: Nullable(Type.String()),
      upstreamEdgeId: Nullable(Type.String()),
      downstreamEdgeIds: Type.Array(Type.String()),
    }),
  ),
});

export const SiteStatsSchema = Type.Object({
  siteId: Type.String(),
  edgeId: Nullable(Type.String()),
  at: Nullable(Type.String()),
  bitrateBps: Nullable(Type.Number()),
  lossRate: Nullable(Type.Number()),
  jitterMs: Nullable(Type.Number()),
  rttMs: Nullable(Type.Number()),
  pathRttMs: Nullable(Type.Number()),
  linkState: Nullable(Type.String()),
  activeSpeakerSiteId: Nullable(Type.String()),
  /** What the room sends by kind, and what reaches it (the chair's console). */
  audioBps: Nullable(Type.Number()),
  videoBps: Nullable(Type.Number()),
  recvBps: Nullable(Type.Number()),
  /** The room's edge as its upstream sees it: media may flow while the box's agent is down. */
  seenUpstream: Nullable(Type.Object({ state: Type.String(), recvBps: Type.Number() })),
});

/**
 * A room asking to speak, in the order asked: its box's help button (source
 * `button`) or a browser participant who joined at the site by a join link
 * (source `browser`, with the participant's id).
 */
export const SpeakRequestSchema = Type.Object({
  siteId: Type.String(),
  at: Type.String(),
  source: Type.String(),
  participantId: Type.Optional(Type.String()),
});

/** A join link as issued (POST /api/v1/meetings/:id/join-links). */
export const JoinLinkSchema = Type.Object({
  /** The link's id: what its listing shows and a revocation names. */
  id: Type.String(),
  /** The signed link: `<claims>.<signature>`, base64url. */
  link: Type.String(),
  /** The join page on the site's edge with the link in it; null while the edge has announced no address. */
  url: Nullable(Type.String()),
  meetingId: Type.String(),
  siteId: Type.String(),
  role: Type.Union([Type.Literal('participant'), Type.Literal('listener')]),
  expiresAt: Type.String(),
  /** The box whose edge admits it (the site's box); null when the site has none enrolled. */
  edgeId: Nullable(Type.String()),
});

/** The chair's roll-call picture (POST /api/v1/meetings/:id/roll-call/picture). */
export const RollCallPictureSchema = Type.Object({
  /** The chairing site's join page with a monitor link in it (a bearer credential: frame it, never log it); null while that edge has announced no address. */
  url: Nullable(Type.String()),
  /** The link's id (the console's previous one is revoked when it asks for this one). */
  id: Type.String(),
  meetingId: Type.String(),
  /** The site whose edge shows it the picture: the chairing site. */
  chairSiteId: Type.String(),
  /** The site the roll call had reached when the link was made; the page follows the roll call from there. */
  calledSiteId: Type.String(),
  expiresAt: Type.String(),
  edgeId: Nullable(Type.String()),
});

/** An issued join link as listed: what it is for and whether it still opens anything, never the link itself. */
export const IssuedJoinLinkSchema = Type.Object({
  id: Type.String(),
  meetingId: Type.String(),
  siteId: Type.String(),
  role: Type.Union([Type.Literal('participant'), Type.Literal('listener'), Type.Literal('monitor')]),
  /** active: opens the meeting at its site until expiresAt; revoked: refused, its browsers closed; expired. */
  state: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
  issuedAt: Type.String(),
  expiresAt: Type.String(),
  issuedBy: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
  revokedBy: Nullable(Type.String()),
});

export const MeetingDetailSchema = Type.Composite([
  MeetingSchema,
  Type.Object({ cascade: CascadeSchema, stats: Type.Array(SiteStatsSchema), requests: Type.Array(SpeakRequestSchema) }),
]);
export const MeetingCreatedSchema = Type.Composite([MeetingSchema, Type.Object({ cascade: CascadeSchema })]);
