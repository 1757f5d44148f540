// The cascade link protocol between two edges, over the upstream edge's HTTP
// signalling API. The downstream edge always calls (communes may sit behind
// NAT; the upstream need not know their address):
//
//   POST   /media/v1/meetings/{m}/links                 {edgeId, ip, port, srtp} -> {linkId, ip, port, srtp}
//   GET    /media/v1/meetings/{m}/links/{linkId}/events  server-sent events, upstream -> downstream
//   POST   /media/v1/meetings/{m}/links/{linkId}/events  {events: [...]},   downstream -> upstream
//   DELETE /media/v1/meetings/{m}/links/{linkId}
//
// All with `Authorization: Bearer <linkToken>` from the media plan. The event
// stream is also the link's liveness: when it ends, both sides close the link
// and everything that crossed it.
import { Type, type Static } from '@sinclair/typebox';
import { codec } from '@diemcau/shared';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });
const Uuid = Type.String({ minLength: 1, maxLength: 64 });
// Each side's SRTP key for the link: RTP between edges is encrypted (mediasoup's
// pipe transports use AEAD_AES_256_GCM; the worker checks the suite it is given).
const Srtp = Type.Object({
  cryptoSuite: Type.Union([
    Type.Literal('AEAD_AES_256_GCM'),
    Type.Literal('AEAD_AES_128_GCM'),
    Type.Literal('AES_CM_128_HMAC_SHA1_80'),
    Type.Literal('AES_CM_128_HMAC_SHA1_32'),
  ]),
  keyBase64: Type.String({ minLength: 16, maxLength: 128 }),
});

export const LinkOfferSchema = Type.Object({
  v: Type.Literal(1),
  edgeId: Id,
  ip: Type.String({ minLength: 1, maxLength: 64 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  srtp: Srtp,
});
export type LinkOffer = Static<typeof LinkOfferSchema>;
export const linkOfferCodec = codec(LinkOfferSchema);

export const LinkAnswerSchema = Type.Object({
  v: Type.Literal(1),
  linkId: Uuid,
  edgeId: Id,
  ip: Type.String({ minLength: 1, maxLength: 64 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  srtp: Srtp,
});
export type LinkAnswer = Static<typeof LinkAnswerSchema>;
export const linkAnswerCodec = codec(LinkAnswerSchema);

// RTP parameters are checked for shape here; the worker validates them fully.
const RtpParametersShape = Type.Object({
  codecs: Type.Array(Type.Object({ mimeType: Type.String(), payloadType: Type.Integer(), clockRate: Type.Integer() }), {
    minItems: 1,
    maxItems: 8,
  }),
  encodings: Type.Array(Type.Object({}), { maxItems: 8 }),
});
export type WireRtpParameters = Static<typeof RtpParametersShape>;

export const LinkEventSchema = Type.Union([
  Type.Object({
    type: Type.Literal('produce'),
    producerId: Uuid,
    kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
    rtpParameters: RtpParametersShape,
    paused: Type.Boolean(),
    siteId: Id,
    originEdgeId: Id,
    // A camera's small picture (layers.ts); absent: the full one, as before layers existed.
    layer: Type.Optional(Type.Literal('small')),
  }),
  Type.Object({
    type: Type.Union([Type.Literal('pause'), Type.Literal('resume'), Type.Literal('close')]),
    producerId: Uuid,
  }),
  // Upstream to downstream only: the meeting's recent speakers, most recent
  // first, as the host heard them, and the warm rooms whose streams every link
  // keeps announced but held back (see forwarding.ts; absent: none).
  Type.Object({
    type: Type.Literal('speakers'),
    siteIds: Type.Array(Id, { maxItems: 8 }),
    warm: Type.Optional(Type.Array(Id, { maxItems: 8 })),
  }),
  // Who is in the meeting (roster.ts): up a link, the sender's side of the
  // cascade; down a link, the whole meeting. Replaces what was sent before.
  Type.Object({
    type: Type.Literal('roster'),
    sites: Type.Array(Type.Object({ siteId: Id, mic: Type.Boolean(), camera: Type.Boolean() }), { maxItems: 4096 }),
  }),
  // Heartbeat; the downstream edge sends its last measured round trip along.
  Type.Object({ type: Type.Literal('ping'), t: Type.Number(), rttMs: Type.Optional(Type.Number({ minimum: 0 })) }),
]);
export type LinkEvent = Static<typeof LinkEventSchema>;
export const linkEventCodec = codec(LinkEventSchema);

export const LinkEventBatchSchema = Type.Object({
  v: Type.Literal(1),
  events: Type.Array(LinkEventSchema, { maxItems: 256 }),
});
export type LinkEventBatch = Static<typeof LinkEventBatchSchema>;
export const linkEventBatchCodec = codec(LinkEventBatchSchema);

export const linkPaths = {
  links: (meetingId: string): string => `/media/v1/meetings/${encodeURIComponent(meetingId)}/links`,
  link: (meetingId: string, linkId: string): string =>
    `/media/v1/meetings/${encodeURIComponent(meetingId)}/links/${encodeURIComponent(linkId)}`,
  events: (meetingId: string, linkId: string): string => `${linkPaths.link(meetingId, linkId)}/events`,
};

/** How often the upstream sends a heartbeat, and how long the downstream waits for one. */
export const HEARTBEAT_MS = 2000;
export const HEARTBEAT_TIMEOUT_MS = 8000;
