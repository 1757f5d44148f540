import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';
import { PeripheralStateSchema, PeripheralsSchema } from './presence.js';

// What a device says about the room's hardware, on two channels:
//   'health': the peripheral states whenever they change, and every self-test result;
//   'events': one-off things that happened (the help button was pressed).
// Each peripheral carries a stable reason code, so the fleet's alert rules match
// codes, never message text, and the message can be reworded freely.

export const PERIPHERAL_NAMES = ['camera', 'microphone', 'display', 'gpio'] as const;
export type PeripheralName = (typeof PERIPHERAL_NAMES)[number];

export const PERIPHERAL_REASONS = [
  'none-found', // no such device on the host (camera unplugged, no sound card, no HDMI connector)
  'open-failed', // present but could not be opened or read
  'busy', // in use by another program (the media edge during a meeting): state 'unknown'
  'black', // camera delivers a black picture
  'frozen', // camera delivers the same picture over and over
  'silent', // microphone level below the silence threshold
  'clipping', // microphone samples stuck at full scale
  'disconnected', // no TV on any HDMI connector
  'standby', // TV connected but in standby (CEC)
  'unavailable', // the host has no GPIO
  'timeout', // the check did not finish in time
  'error', // anything else; see the message
] as const;
export type PeripheralReasonCode = (typeof PERIPHERAL_REASONS)[number];

export const PeripheralReasonSchema = Type.Object({
  code: Type.Union(PERIPHERAL_REASONS.map((c) => Type.Literal(c))),
  message: Type.String({ maxLength: 500 }),
});
export type PeripheralReason = Static<typeof PeripheralReasonSchema>;

const Name = Type.String({ maxLength: 200 });
/** dBFS, floored at -120 so digital silence stays a JSON number. */
const Dbfs = Type.Number({ minimum: -120, maximum: 0 });

export const CameraHealthSchema = Type.Object({
  state: PeripheralStateSchema,
  reason: Type.Optional(PeripheralReasonSchema),
  devices: Type.Array(Type.Object({ node: Name, name: Name }), { maxItems: 32 }),
  /** The device the picture was taken from. */
  device: Type.Optional(Name),
  measured: Type.Optional(
    Type.Object({
      frames: Type.Integer({ minimum: 0 }),
      meanLuma: Type.Number({ minimum: 0, maximum: 255 }),
      /** Largest mean absolute difference between consecutive frames (0–255). */
      maxFrameDiff: Type.Number({ minimum: 0, maximum: 255 }),
      black: Type.Boolean(),
      frozen: Type.Boolean(),
    }),
  ),
});
export type CameraHealth = Static<typeof CameraHealthSchema>;

export const MicrophoneHealthSchema = Type.Object({
  state: PeripheralStateSchema,
  reason: Type.Optional(PeripheralReasonSchema),
  devices: Type.Array(Type.Object({ id: Name, name: Name }), { maxItems: 32 }),
  device: Type.Optional(Name),
  measured: Type.Optional(
    Type.Object({
      seconds: Type.Number({ minimum: 0 }),
      peakDbfs: Dbfs,
      rmsDbfs: Dbfs,
      /** Share of samples inside runs stuck at full scale (0–1). */
      clippedRatio: Type.Number({ minimum: 0, maximum: 1 }),
      silent: Type.Boolean(),
      clipping: Type.Boolean(),
    }),
  ),
});
export type MicrophoneHealth = Static<typeof MicrophoneHealthSchema>;

export const ConnectorStatusSchema = Type.Union([
  Type.Literal('connected'),
  Type.Literal('disconnected'),
  Type.Literal('unknown'),
]);
export type ConnectorStatus = Static<typeof ConnectorStatusSchema>;

export const TvPowerSchema = Type.Union([
  Type.Literal('on'),
  Type.Literal('standby'),
  Type.Literal('unknown'),
  Type.Literal('unsupported'), // no HDMI-CEC on this host
]);
export type TvPower = Static<typeof TvPowerSchema>;

export const DisplayHealthSchema = Type.Object({
  state: PeripheralStateSchema,
  reason: Type.Optional(PeripheralReasonSchema),
  connectors: Type.Array(
    Type.Object({
      name: Name,
      status: ConnectorStatusSchema,
      enabled: Type.Union([Type.Boolean(), Type.Null()]),
      /** Preferred (first listed) mode, e.g. "1920x1080". */
      mode: Type.Union([Type.String({ maxLength: 32 }), Type.Null()]),
    }),
    { maxItems: 16 },
  ),
  power: TvPowerSchema,
});
export type DisplayHealth = Static<typeof DisplayHealthSchema>;

export const LED_PATTERNS = [
  'off',
  'enrolling',
  'online',
  'offline',
  'updating',
  'error',
  'notice',
  'identify',
] as const;
export type LedPatternName = (typeof LED_PATTERNS)[number];

export const GpioHealthSchema = Type.Object({
  state: PeripheralStateSchema,
  reason: Type.Optional(PeripheralReasonSchema),
  led: Type.Union(LED_PATTERNS.map((p) => Type.Literal(p))),
  helpButton: Type.Boolean(),
  tvRelay: Type.Boolean(),
});
export type GpioHealth = Static<typeof GpioHealthSchema>;

export const HostSummarySchema = Type.Object({
  manufacturer: Name,
  model: Name,
  serial: Name,
  uuid: Name,
  os: Name,
  kernel: Name,
  arch: Type.String({ maxLength: 32 }),
  hostname: Name,
});
export type HostSummary = Static<typeof HostSummarySchema>;

export const HardwareKindSchema = Type.Union([Type.Literal('real'), Type.Literal('simulated')]);

/** Published on 'health' whenever a peripheral's state changes (and once after connecting). */
export const PeripheralsReportSchema = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('peripherals'),
  at: Type.String({ format: 'date-time' }),
  hardware: HardwareKindSchema,
  peripherals: PeripheralsSchema,
  reasons: Type.Partial(
    Type.Object({
      camera: PeripheralReasonSchema,
      microphone: PeripheralReasonSchema,
      display: PeripheralReasonSchema,
      gpio: PeripheralReasonSchema,
    }),
  ),
});
export type PeripheralsReport = Static<typeof PeripheralsReportSchema>;

/** Published on 'health' after every self-test; also the output of the 'self-test' command. */
export const SelfTestResultSchema = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('self-test'),
  /** The command that asked for it, if any. */
  commandId: Type.Optional(Type.String({ maxLength: 64 })),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  hardware: HardwareKindSchema,
  /** True when every peripheral the room needs (camera, microphone, display) is ok. */
  ok: Type.Boolean(),
  peripherals: PeripheralsSchema,
  camera: CameraHealthSchema,
  microphone: MicrophoneHealthSchema,
  display: DisplayHealthSchema,
  gpio: GpioHealthSchema,
  host: Type.Optional(HostSummarySchema),
});
export type SelfTestResult = Static<typeof SelfTestResultSchema>;

export const HealthMessageSchema = Type.Union([PeripheralsReportSchema, SelfTestResultSchema]);
export type HealthMessage = Static<typeof HealthMessageSchema>;
export const healthCodec = codec(HealthMessageSchema);

/** Published on 'events'. `id` is unique per event so the fleet can drop redeliveries. */
export const HelpRequestedEventSchema = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('help-requested'),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  at: Type.String({ format: 'date-time' }),
  source: Type.Union([Type.Literal('button'), Type.Literal('simulated')]),
});
export type HelpRequestedEvent = Static<typeof HelpRequestedEventSchema>;

/** A box's answer to a move statement on its 'move' channel (fleet-move.ts): followed, or refused and why. */
export const FleetMoveEventSchema = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('fleet-move'),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  at: Type.String({ format: 'date-time' }),
  outcome: Type.Union([Type.Literal('followed'), Type.Literal('refused')]),
  moveId: Type.Optional(Type.String({ maxLength: 64 })),
  /** A refusal's reason (MoveRefusal) and detail. */
  reason: Type.Optional(Type.String({ maxLength: 32 })),
  detail: Type.Optional(Type.String({ maxLength: 500 })),
  /** Followed: the fleet the box went to. */
  toFleetId: Type.Optional(Type.String({ maxLength: 64 })),
});
export type FleetMoveEvent = Static<typeof FleetMoveEventSchema>;

export const DeviceEventSchema = Type.Union([HelpRequestedEventSchema, FleetMoveEventSchema]);
export type DeviceEvent = Static<typeof DeviceEventSchema>;
export const deviceEventCodec = codec(DeviceEventSchema);
