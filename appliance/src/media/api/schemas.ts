// The edge API's request and answer shapes, one TypeBox definition each: the
// request schemas are what the edge validates with (the shared codecs' rule,
// server.ts), the answers are what the OpenAPI document promises (checked
// against live answers in test/media/edge-openapi.test.ts). mediasoup's own
// parameter objects (RTP capabilities, ICE and DTLS parameters) are passed
// through as objects: the worker checks them, and their shape is mediasoup's.
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { MediaKindSchema, codec } from '@diemcau/shared';
import { BOX_STATES } from '../../status/box-status.js';

/**
 * How the edge reads requests and writes answers. One rule for bodies,
 * parameters and queries alike: the shared codecs' (TypeBox, no coercion,
 * the protocol version named when it is wrong), as for the same messages over
 * MQTT. Answers leave as the handler made them: the schemas document them (a
 * test checks live answers against them) but never drop or coerce a field.
 */
export function installSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema }) => {
    const c = codec(schema as TSchema);
    return (data: unknown) => {
      const d = c.check(data);
      return d.ok ? { value: d.value } : { error: d.error };
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addSchema(EdgeErrorSchema);
}

/** mediasoup's parameter objects, as the worker defines them: an object in a request ... */
export const Opaque = (description: string) => Type.Object({}, { additionalProperties: true, description });
/** ... and whatever the worker made in an answer. */
const OpaqueOut = (description: string) => Type.Unknown({ description });

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

// Path parameters are any string: an id that names nothing is a 404 from the
// room or link lookup, as it always was, never a 400 from a pattern.
const MeetingId = Type.String({ description: 'The meeting id from the media plan' });
export const MeetingParams = Type.Object({ meetingId: MeetingId });
export const TapParams = Type.Object({ meetingId: MeetingId, tapId: Type.String() });
export const PeerParams = Type.Object({ meetingId: MeetingId, peerId: Type.String() });
export const TransportParams = Type.Object({ meetingId: MeetingId, peerId: Type.String(), transportId: Type.String() });
export const ConsumerParams = Type.Object({ meetingId: MeetingId, peerId: Type.String(), consumerId: Type.String() });
export const LinkParams = Type.Object({ meetingId: MeetingId, linkId: Type.String() });

export const JoinQuery = Type.Object({
  link: Type.Optional(
    Type.String({
      description:
        'A join link the fleet signed (POST /api/v1/meetings/{id}/join-links on the fleet): it names the meeting, the site, the role and the expiry, and the page sends it as a bearer token',
    }),
  ),
  meeting: Type.Optional(Type.String({ description: 'The meeting to join (with `token`; a link names its own)' })),
  token: Type.Optional(
    Type.String({
      description: "The TV's token (or a lab's fixed join token), sent as a bearer token by the page",
    }),
  ),
  view: Type.Optional(Type.String({ description: '`kiosk`: receive only, laid out for the TV' })),
});

// ---- bodies -----------------------------------------------------------------

export const TapBody = Type.Object({
  producerId: Type.String({ minLength: 1, maxLength: 64 }),
  ip: Type.String({
    minLength: 1,
    maxLength: 64,
    description: 'Where to send: an address DIEMCAU_EDGE_TAP_ALLOW allows',
  }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  rtcpPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Default: port + 1' })),
});
export const ConnectBody = Type.Object({ dtlsParameters: Opaque("The browser's DTLS parameters") });
export const ProduceBody = Type.Object({
  transportId: Type.String({ maxLength: 64 }),
  kind: MediaKindSchema,
  rtpParameters: Opaque("The browser's RTP parameters"),
});
export const ConsumeBody = Type.Object({
  transportId: Type.String({ maxLength: 64 }),
  producerId: Type.String({ maxLength: 64 }),
  rtpCapabilities: Opaque("The browser's RTP capabilities"),
});

// ---- answers ----------------------------------------------------------------

export const EdgeErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'A stable code of the error registry (APPL_ERR_*, PROTO_ERR_*)' }),
    message: Type.String(),
    reason: Type.Optional(
      Type.String({ description: 'The counted limit or rule the request met (GET /media/v1/refusals)' }),
    ),
  },
  { $id: 'EdgeError', description: 'Every refusal of the edge' },
);

export const Health = Type.Object({
  edgeId: Type.String(),
  role: Type.Union([Type.Literal('site'), Type.Literal('core')]),
  revision: Nullable(Type.Integer({ description: 'The media plan in force; null before the first' })),
  workerPid: Nullable(Type.Integer({ description: 'The first mediasoup worker; null while it is replaced' })),
  mediasoup: Type.String({ description: 'mediasoup version' }),
});

export const PlanAccepted = Type.Object({ ok: Type.Literal(true) });
export const PlanRejected = Type.Object({ ok: Type.Literal(false), reason: Type.String() });

const Counts = Type.Record(Type.String(), Type.Integer({ minimum: 0 }));
export const Refusals = Type.Object({
  byReason: Counts,
  byCode: Counts,
  peers: Type.Integer({ minimum: 0, description: 'Browser peers held now' }),
});

export const Dump = Type.Object({
  workerPid: Nullable(Type.Integer()),
  workerPids: Type.Array(Type.Integer()),
  rooms: Type.Array(
    Type.Object({
      meetingId: Type.String(),
      workerPids: Type.Array(Type.Integer()),
      transportIds: Type.Array(Type.String()),
      producerIds: Type.Array(Type.String()),
      consumerIds: Type.Array(Type.String()),
    }),
  ),
});

export const StreamList = Type.Array(
  Type.Object({
    id: Type.String(),
    kind: MediaKindSchema,
    siteId: Type.String(),
    originEdgeId: Type.String(),
    paused: Type.Boolean(),
    via: Nullable(Type.String({ description: 'The link it arrived over; null when it came in here' })),
    layer: Type.Optional(
      Type.Literal('small', { description: "A camera's small picture for thumbnails; absent: the full picture" }),
    ),
  }),
);

export const Roster = Type.Array(
  Type.Object({
    siteId: Type.String(),
    mic: Type.Boolean({ description: 'Its microphone is open' }),
    camera: Type.Boolean({ description: 'It has a camera in the meeting, shown or not' }),
  }),
  {
    description:
      'Who is in the meeting, as this edge knows it (streams cross a link only while someone beyond it receives them)',
  },
);

export const TapAnswer = Type.Object({
  tapId: Type.String(),
  kind: MediaKindSchema,
  siteId: Type.String(),
  sdp: Type.String({ description: 'What a plain RTP receiver at ip:port needs (e.g. `ffmpeg -i tap.sdp`)' }),
});

export const PeerCreated = Type.Object({
  peerId: Type.String(),
  participantId: Type.String({
    description:
      "How the meeting names this browser: its streams' site id, `<site>.web<n>` (the chair's console shows its requests to speak under it)",
  }),
  rtpCapabilities: OpaqueOut("The room router's RTP capabilities"),
});
export const TransportCreated = Type.Object({
  id: Type.String(),
  iceParameters: OpaqueOut('ICE parameters'),
  iceCandidates: OpaqueOut('ICE candidates (an array)'),
  dtlsParameters: OpaqueOut('DTLS parameters'),
});
export const Produced = Type.Object({ id: Type.String() });
export const Consumed = Type.Object({
  id: Type.String(),
  producerId: Type.String(),
  kind: MediaKindSchema,
  rtpParameters: OpaqueOut('RTP parameters of the consumer'),
  siteId: Type.String(),
});
export const SpeakAsked = Type.Object({
  participantId: Type.String(),
  at: Type.String({ description: 'When it first asked (ISO); asking again keeps the first time' }),
});
export const Layout = Type.Object({
  floorParticipantId: Type.Optional(
    Nullable(Type.String({ description: 'The browser participant holding the floor with its site, if any' })),
  ),
  large: Type.Array(Type.String(), { description: 'Site ids shown large' }),
  small: Type.Array(Type.String(), { description: 'Site ids shown as thumbnails' }),
  self: Nullable(Type.String({ description: "The room's own site: neither shown nor played" })),
  show: Type.Record(Type.String(), Type.String(), {
    description:
      "Per site, the video stream this browser gets now: the edge's pick of the camera's full or small picture for where the browser shows it (the others of that site are held back for it)",
  }),
  micClosed: Type.Optional(
    Type.Boolean({
      description:
        "Whether the chair keeps this browser's microphone closed now (mute all, or the floor given to another site); false when it sends no sound",
    }),
  ),
});

export const PeerViewQuery = Type.Object({
  view: Type.Optional(
    Type.Union([Type.Literal('kiosk'), Type.Literal('grid')], {
      description:
        "`kiosk`: the TV (large pictures get a camera's full picture, thumbnails its small one); `grid` (default): equal tiles, each a camera's small picture",
    }),
  ),
});

export const KioskStateSchema = Type.Object({
  v: Type.Literal(1),
  enrolled: Type.Boolean(),
  site: Nullable(Type.Object({ deviceId: Type.String(), siteId: Type.String(), siteName: Type.String() })),
  connected: Nullable(Type.Boolean({ description: "The agent's link to the fleet; null when unknown" })),
  identify: Nullable(Type.Object({ siteName: Type.String(), code: Type.String(), until: Type.String() })),
  meeting: Nullable(Type.Object({ meetingId: Type.String(), title: Type.String(), joinUrl: Type.String() })),
  status: Type.Union(
    BOX_STATES.map((s) => Type.Literal(s)),
    { description: 'What the box is doing; the status LED shows the same' },
  ),
  update: Nullable(
    Type.Object({
      current: Type.String(),
      target: Nullable(Type.String()),
      percent: Nullable(Type.Integer({ minimum: 0, maximum: 100 })),
    }),
  ),
});

/** No body (204). */
export const Done = Type.Null({ description: 'Done; no body' });

/** A page or script: documented by its type, answered as text. */
export const Text = (contentType: string, description: string) => ({
  description,
  content: { [contentType]: { schema: Type.String() } },
});

export const EventStream = {
  description:
    "Server-sent events (link/protocol.ts LinkEvent), one JSON object per `data:` line; open for the meeting's length",
  content: { 'text/event-stream': { schema: Type.String() } },
};

const REFUSALS = {
  400: 'The body or parameters do not match the schema, or the body is not JSON (PROTO_ERR_SCHEMA, PROTO_ERR_NOT_JSON, PROTO_ERR_VERSION)',
  401: 'No token, or not one that opens this route (APPL_ERR_MEDIA_UNAUTHORIZED)',
  403: 'Not allowed by the media plan or the edge settings; `reason` names the rule (APPL_ERR_MEDIA_FORBIDDEN)',
  404: 'No such meeting (open on this edge), peer, transport, consumer, stream, tap or link (APPL_ERR_MEDIA_NOT_FOUND)',
  409: 'Conflicts with the state of the edge; `reason` says how (APPL_ERR_MEDIA_CONFLICT)',
  413: 'The body is larger than 256 KiB (PROTO_ERR_TOO_LARGE)',
  429: 'A limit of this edge is reached; `reason` names it (APPL_ERR_MEDIA_LIMIT)',
} as const;
export type RefusalStatus = keyof typeof REFUSALS;

/** The refusals a route documents, each as the shared error body. */
export function refusals(...statuses: RefusalStatus[]): Record<number, { $ref: string; description: string }> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: 'EdgeError', description: REFUSALS[s] }]));
}
