// Readiness: before a scheduled meeting, every invited site checks its room
// and the path to the edge that will carry it.
//
// Request: retained by the fleet on diemcau/v1/devices/{deviceId}/readiness,
// one per device (a site is in one meeting at a time). The box runs it once
// per requestId, at `runAt` (the fleet staggers sites so that probes sharing a
// link never overlap beyond its budget), unless `expiresAt` has passed.
//
// Report: published on diemcau/v1/devices/{deviceId}/readiness-report. The box
// reports what it measured; the fleet grades it (green, amber, red) with its
// own thresholds, so a threshold changes in one place.
//
// Probe: UDP packets to the upstream edge's probe port (the port number of its
// signalling URL), paced at `rateKbps` for `durationMs`; the edge sends each
// one back unchanged when it carries a token the edge accepts for a meeting.
// Packet layout (big-endian): "DCPR" | token length (1 byte) | token |
// sequence (uint32) | send time in µs of the sender's monotonic clock (float64) | padding.
import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';
import { PeripheralReasonSchema } from './health.js';
import { PeripheralStateSchema } from './presence.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });

export const PROBE_MAGIC = 'DCPR';

export const ProbeTargetSchema = Type.Object({
  /** The upstream edge, as the cascade plan names it. */
  edgeId: Id,
  host: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_\\[\\]-]+$' }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /** The meeting's link token at that edge (what the site's edge will present when it links). */
  token: Type.String({ minLength: 16, maxLength: 200 }),
  /** Send rate of the paced burst; the edge echoes it, so both directions carry it. */
  rateKbps: Type.Integer({ minimum: 16, maximum: 50_000 }),
  durationMs: Type.Integer({ minimum: 200, maximum: 10_000 }),
  /** UDP payload size of each probe packet (an RTP video packet is about 1,200). */
  packetBytes: Type.Integer({ minimum: 64, maximum: 1400 }),
});
export type ProbeTarget = Static<typeof ProbeTargetSchema>;

export const ReadinessRequestSchema = Type.Object({
  v: Type.Literal(1),
  requestId: Id,
  meetingId: Id,
  /** When to start (the box's clock); a box that gets it late starts at once. */
  runAt: Type.String({ format: 'date-time' }),
  /** Not run after this (the meeting has started). */
  expiresAt: Type.String({ format: 'date-time' }),
  /** Null when the site's edge hosts the meeting: there is no link up to test. */
  probe: Type.Union([ProbeTargetSchema, Type.Null()]),
});
export type ReadinessRequest = Static<typeof ReadinessRequestSchema>;
export const readinessRequestCodec = codec(ReadinessRequestSchema);

const PartSchema = Type.Object({
  state: PeripheralStateSchema,
  reason: Type.Optional(PeripheralReasonSchema),
});

export const ProbeResultSchema = Type.Object({
  edgeId: Id,
  sent: Type.Integer({ minimum: 0 }),
  /** Echoes back within the wait after the burst. */
  received: Type.Integer({ minimum: 0 }),
  /** 1 - received / sent. */
  lossRate: Type.Number({ minimum: 0, maximum: 1 }),
  rttMsP50: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  rttMsP95: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  /** What came back, per second of the burst: what the path carried both ways. */
  throughputKbps: Type.Number({ minimum: 0 }),
  rateKbps: Type.Integer({ minimum: 0 }),
  durationMs: Type.Integer({ minimum: 0 }),
  /** Set when the probe could not run at all (no route, socket error). */
  error: Type.Optional(Type.String({ maxLength: 300 })),
});
export type ProbeResult = Static<typeof ProbeResultSchema>;

export const ReadinessReportSchema = Type.Object({
  v: Type.Literal(1),
  requestId: Id,
  meetingId: Id,
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  camera: PartSchema,
  microphone: PartSchema,
  display: PartSchema,
  /** Null when the request had no probe (the site hosts the meeting). */
  probe: Type.Union([ProbeResultSchema, Type.Null()]),
  /**
   * The room's picture as the camera check took it: small and grey (160×90
   * luma bytes, base64), for the chair's roll call. Absent without a camera.
   */
  snapshot: Type.Optional(
    Type.Object({
      w: Type.Integer({ minimum: 1, maximum: 320 }),
      h: Type.Integer({ minimum: 1, maximum: 240 }),
      grey: Type.String({ maxLength: 110_000, pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
    }),
  ),
});
export type ReadinessReport = Static<typeof ReadinessReportSchema>;
export const readinessReportCodec = codec(ReadinessReportSchema);

/** Bytes before the padding: magic, token length, token, sequence, send time. */
export const probeHeaderBytes = (token: string): number => 4 + 1 + Buffer.byteLength(token) + 4 + 8;
