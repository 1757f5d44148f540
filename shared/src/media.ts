// Media: what an edge is told to do (the plan) and what it reports back (stats).
//
// Plan: retained by the fleet on diemcau/v1/devices/{edgeId}/media. It holds every
// meeting the edge takes part in; an edge that is in no meeting gets `meetings: []`.
// The edge reconciles towards the newest plan (highest `revision`): it opens the
// meetings that are `live`, follows chair controls, and closes the rest.
//
// Cascade: each meeting is a tree of edges. The host edge is the root; a relay
// has an upstream and downstream edges; a leaf only an upstream. A downstream
// edge links to its upstream over the upstream's HTTP signalling API
// (`upstream.signalUrl`), presenting `upstream.linkToken`; the upstream accepts
// a link for that meeting only with its own `acceptToken`. The planner gives
// one token per (meeting, upstream edge), so a commune's token opens only its
// district's edge, and only for that meeting.
//
// Stats: each edge publishes on diemcau/v1/devices/{edgeId}/media-stats, every
// few seconds while it is in a live meeting: per meeting, its local room's
// streams (what the site sends) and its links (what crosses the network).
import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';
import { JoinLinkIdSchema, MAX_REVOKED_LINKS } from './join-link.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });
const Token = Type.String({ minLength: 16, maxLength: 256 });

export const MediaRoleSchema = Type.Union([Type.Literal('host'), Type.Literal('relay'), Type.Literal('leaf')]);
export type MediaRole = Static<typeof MediaRoleSchema>;

export const MeetingStateSchema = Type.Union([
  Type.Literal('scheduled'), // known, nothing opened yet
  Type.Literal('live'), // edges open routers and links
  Type.Literal('ended'), // edges close everything for it (same as leaving it out)
]);
export type MeetingState = Static<typeof MeetingStateSchema>;

export const MediaUpstreamSchema = Type.Object({
  edgeId: Id,
  /** Base URL of the upstream edge's signalling API, e.g. http://10.1.2.3:4443 */
  signalUrl: Type.String({ minLength: 1, maxLength: 512 }),
  /** Presented as `Authorization: Bearer <linkToken>` on every link request. */
  linkToken: Token,
});
export type MediaUpstream = Static<typeof MediaUpstreamSchema>;

/**
 * A downstream edge as its upstream knows it: the only addresses a link offer
 * for it may come from and send media to. An upstream refuses a link from an
 * edge the plan does not name, so an edge's address must be known (its
 * presence birth's mediaUrl) before it can link. Loopback is accepted only
 * when named here; unspecified, multicast and broadcast addresses never.
 */
export const MediaDownstreamSchema = Type.Object({
  edgeId: Id,
  /** IP addresses or host names (resolved by the upstream when the offer comes). */
  addresses: Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' }), {
    minItems: 1,
    maxItems: 4,
  }),
  /** The downstream's RTP port range, when known; otherwise any port from 1024 up. */
  rtpPorts: Type.Optional(
    Type.Object({
      min: Type.Integer({ minimum: 1024, maximum: 65535 }),
      max: Type.Integer({ minimum: 1024, maximum: 65535 }),
    }),
  ),
  /**
   * The participating sites whose streams may come up through this edge: its
   * subtree in the meeting's cascade (its own site included). The upstream
   * refuses a stream announced under any other site id, so a commune's box
   * cannot pose as the chair or as another commune. Absent (a fleet older than
   * this field): no site is admitted from this edge; the edge counts and logs
   * every refusal with reason `link-site-list-missing`.
   */
  // A meeting has at most 1000 participants plus its chair (fleet meetings routes): room to spare.
  siteIds: Type.Optional(Type.Array(Id, { maxItems: 2048 })),
});
export type MediaDownstream = Static<typeof MediaDownstreamSchema>;

export const MediaMeetingSchema = Type.Object({
  meetingId: Id,
  title: Type.String({ maxLength: 200 }),
  role: MediaRoleSchema,
  /** null for the host. */
  upstream: Type.Union([MediaUpstreamSchema, Type.Null()]),
  /** Token downstream edges must present; null when no edge links below this one. */
  acceptToken: Type.Union([Token, Type.Null()]),
  /** The downstream edges that may link here, and from where; absent or empty: none may. */
  downstream: Type.Optional(Type.Array(MediaDownstreamSchema, { maxItems: 256 })),
  /** The site whose room this edge brings in; null when it only relays (e.g. the core). */
  localSiteId: Type.Union([Id, Type.Null()]),
  chairSiteId: Id,
  /** Site given the floor (its microphone is the only one open), if any. */
  floorSiteId: Type.Union([Id, Type.Null()]),
  /**
   * With the floor given to a site whose browser participant asked to speak
   * from the join page: that participant (its streams' site id, e.g.
   * `site-a.web2`). Its camera is featured and shown large with the floor's.
   */
  floorParticipantId: Type.Optional(Type.Union([Id, Type.Null()])),
  /** Site shown to everyone during a roll call, if any. */
  rollCallSiteId: Type.Union([Id, Type.Null()]),
  /** Chair's "mute all": every microphone but the chair's (and the floor's) is paused. */
  mutedAll: Type.Boolean(),
  state: MeetingStateSchema,
  /**
   * Names of the meeting's sites, for the captions on the room's TV. Given only
   * to an edge with a room (localSiteId set): a site is in one meeting at a
   * time, so this stays one meeting's roster; the core relays and has no TV.
   * Absent: the TV captions pictures with site ids.
   */
  siteNames: Type.Optional(Type.Record(Id, Type.String({ maxLength: 200 }))),
  /**
   * Join links of this edge's site that the fleet revoked before they expired
   * (their `jti`, shared/src/join-link.ts): the edge refuses them and closes
   * the browsers that joined with them. Given only to the edge of the link's
   * site; a link drops off the list once it has expired anyway. Absent: none.
   */
  revokedLinks: Type.Optional(Type.Array(JoinLinkIdSchema, { maxItems: MAX_REVOKED_LINKS })),
});
export type MediaMeeting = Static<typeof MediaMeetingSchema>;

export const MediaPlanSchema = Type.Object({
  v: Type.Literal(1),
  /** Increases with every change; an edge ignores a plan older than the one it runs. */
  revision: Type.Integer({ minimum: 0 }),
  edgeId: Id,
  meetings: Type.Array(MediaMeetingSchema, { maxItems: 100 }),
  /**
   * The fleet's join-link key (SPKI PEM of an ed25519 key, join-link.ts): the
   * edge admits a browser with a link it signed for a meeting open here and
   * this edge's site. Absent: no join link is accepted.
   */
  joinKey: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
});
export type MediaPlan = Static<typeof MediaPlanSchema>;
export const mediaPlanCodec = codec(MediaPlanSchema);

// ---- stats -----------------------------------------------------------------

export const MediaKindSchema = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
export type MediaKind = Static<typeof MediaKindSchema>;

/** One RTP stream as seen by the edge's worker. Bitrate is current; packet counts are totals since the stream started. */
export const StreamStatsSchema = Type.Object({
  kind: MediaKindSchema,
  /** Site the stream comes from. */
  siteId: Id,
  bitrateBps: Type.Number({ minimum: 0 }),
  packets: Type.Integer({ minimum: 0 }),
  packetsLost: Type.Integer({ minimum: 0 }),
  /** packetsLost / (packets + packetsLost), 0..1 */
  lossRate: Type.Number({ minimum: 0, maximum: 1 }),
  jitterMs: Type.Number({ minimum: 0 }),
});
export type StreamStats = Static<typeof StreamStatsSchema>;

export const LinkStatsSchema = Type.Object({
  peerEdgeId: Id,
  /** 'up': this edge's link to its upstream; 'down': a downstream edge's link to this one. */
  direction: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  state: Type.Union([Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('failed')]),
  sendBitrateBps: Type.Number({ minimum: 0 }),
  recvBitrateBps: Type.Number({ minimum: 0 }),
  /** Streams flowing across the link now, each direction. Streams announced but paused (a closed microphone, a camera not featured) do not count. */
  sendStreams: Type.Integer({ minimum: 0 }),
  recvStreams: Type.Integer({ minimum: 0 }),
  packetsLost: Type.Integer({ minimum: 0 }),
  lossRate: Type.Number({ minimum: 0, maximum: 1 }),
  jitterMs: Type.Number({ minimum: 0 }),
  /** Round trip measured over the link's signalling channel; null until measured. */
  rttMs: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
});
export type LinkStats = Static<typeof LinkStatsSchema>;

export const MeetingMediaStatsSchema = Type.Object({
  meetingId: Id,
  role: MediaRoleSchema,
  localSiteId: Type.Union([Id, Type.Null()]),
  /** The local room's camera and microphone as they enter the edge. */
  local: Type.Array(StreamStatsSchema, { maxItems: 8 }),
  links: Type.Array(LinkStatsSchema, { maxItems: 256 }),
  /** Site currently speaking loudest in this edge's view, if any. */
  activeSpeakerSiteId: Type.Union([Id, Type.Null()]),
  /**
   * Browser participants of this edge's room (joined by a join link) asking to
   * speak, oldest first: the fleet shows them in the chair's console as the
   * room's request. Absent: none.
   */
  speakRequests: Type.Optional(
    Type.Array(Type.Object({ participantId: Id, at: Type.String({ format: 'date-time' }) }), { maxItems: 16 }),
  ),
});
export type MeetingMediaStats = Static<typeof MeetingMediaStatsSchema>;

export const MediaStatsSchema = Type.Object({
  v: Type.Literal(1),
  edgeId: Id,
  at: Type.String({ format: 'date-time' }),
  /** Plan revision the edge runs. */
  revision: Type.Integer({ minimum: 0 }),
  meetings: Type.Array(MeetingMediaStatsSchema, { maxItems: 100 }),
});
export type MediaStats = Static<typeof MediaStatsSchema>;
export const mediaStatsCodec = codec(MediaStatsSchema);
