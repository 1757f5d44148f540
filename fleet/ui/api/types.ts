// The shapes the dashboard reads from the fleet's HTTP API and event stream.
// Fields the fleet adds in later stages are optional, so the page keeps
// working against a fleet that does not have them yet.

/** A site kind is data: the registry's dataset declares them (GET /api/v1/hierarchy). */
export type SiteKind = string;

export interface Label { vi: string; en: string }
export interface KindDef { id: string; label: Label; parents: string[] }
/** Sites whose media edges link through one hub: the dashboard groups by them. */
export interface RelayGroup { id: string; name: string; hubSiteId: string; siteIds: string[] }
export interface Hierarchy { dataset: string | null; name: Label | null; kinds: KindDef[]; relayGroups: RelayGroup[] }

export interface Site {
  id: string;
  name: string;
  kind: SiteKind;
  parentId: string | null;
  address?: string;
  contact?: string;
}

/** A box's last OTA report (GET /api/v1/devices/{id}/ota); `unmet` when it lacks a release's packages. */
export interface OtaReport {
  state: string;
  current: string;
  target?: string;
  at: string;
  error?: { code: string; message: string; unmet?: { kind: string; name: string; need: string | null; have: string | null }[] };
}

export type PeripheralState = 'ok' | 'missing' | 'fault' | 'unknown';
export interface Peripherals {
  camera: PeripheralState;
  microphone: PeripheralState;
  display: PeripheralState;
  gpio: PeripheralState;
}

export interface TelemetrySample {
  seq: number;
  at: string;
  cpu: { loadPercent: number; temperatureC?: number };
  memory: { usedBytes: number; totalBytes: number };
  disk: { usedBytes: number; totalBytes: number };
  network: { rxBytesPerSec: number; txBytesPerSec: number };
  uptimeSec: number;
}

/** A stored sample as the API returns it. */
export interface TelemetryRow {
  seq: number;
  at: string;
  receivedAt: string;
  data: TelemetrySample;
}

export interface Device {
  id: string;
  siteId: string;
  online: boolean;
  lastSeenAt: string | null;
  agentVersion?: string | null;
  os?: string | null;
  hardware?: string | null;
  peripherals?: Peripherals | null;
  /** Only in GET /devices/:id: the newest stored sample. */
  telemetry?: TelemetryRow | null;
  /** Set by rollouts and meetings when those features land. */
  updating?: boolean;
  inMeeting?: boolean;
}

export interface Alert {
  id: number | string;
  type: string; // device-offline, flapping, district-outage, camera-missing, ...
  siteId: string | null;
  deviceId: string | null;
  openedAt: string;
  resolvedAt: string | null;
  severity?: string;
  message?: string | null;
  key?: string;
  state?: string;
  resolution?: string | null;
  /** For a district outage: `devices` (all in the incident), `offline` (still down). */
  details?: Record<string, unknown> | null;
  acknowledgedAt?: string | null;
  acknowledgedBy?: string | null;
  ackNote?: string | null;
}

export type CommandType = 'reboot' | 'restart-agent' | 'restart-media' | 'identify' | 'self-test' | 'set-config';

export interface CommandView {
  id: string;
  deviceId: string;
  type: CommandType | string;
  status: string; // queued, delivered, succeeded, failed, rejected, expired
  issuedAt?: string;
  createdAt?: string;
  issuedBy?: string | null;
  result?: { status: string; at?: string; output?: unknown; error?: { code: string; message: string } } | null;
  output?: unknown;
  error?: { code: string; message: string } | null;
  finishedAt?: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  operatorId: string | null;
  operatorName: string | null;
  action: string;
  target: string | null;
  outcome: string | null;
  details?: unknown;
}

interface PeripheralCheck { state: PeripheralState; reason?: { code: string; message: string } }

/** A self-test as the device reported it (shared/src/health.ts), possibly wrapped by the fleet. */
export interface SelfTestResult {
  id?: string | number;
  commandId?: string;
  startedAt?: string;
  finishedAt?: string;
  at?: string;
  ok: boolean;
  peripherals?: Peripherals;
  camera?: PeripheralCheck;
  microphone?: PeripheralCheck;
  display?: PeripheralCheck;
  gpio?: PeripheralCheck;
}

export interface Operator {
  id?: string;
  name?: string;
  role: 'admin' | 'area-operator' | 'viewer' | string;
  area?: { kind: 'subtree'; siteId: string } | { kind: 'relay-group'; groupId: string } | null;
  districtId?: string | null;
}

/** One message from GET /api/v1/events (defined beside the server code that sends it). */
export type { UiEvent as FleetEvent, UiAck as AlertAck } from '../../src/ui/ui-events.js';

export interface Meeting {
  id: string;
  title: string;
  state: 'scheduled' | 'live' | 'ended';
  chairSiteId: string;
  siteIds: string[];
  startsAt: string;
  endsAt: string;
  endedAt: string | null;
  mutedAll?: boolean;
  floorSiteId?: string | null;
  createdBy?: string | null;
}

export interface MeetingSiteStats {
  siteId: string;
  edgeId: string | null;
  at: string | null;
  bitrateBps: number | null;
  lossRate: number | null;
  jitterMs: number | null;
  rttMs: number | null;
  linkState: string | null;
  activeSpeakerSiteId: string | null;
  audioBps?: number | null;
  videoBps?: number | null;
  recvBps?: number | null;
  /** The room's edge as its upstream sees it (media may flow while the box's agent is down). */
  seenUpstream?: { state: string; recvBps: number } | null;
  pathRttMs?: number | null;
}

export interface SpeakRequest { siteId: string; at: string; source: string }

export interface MeetingDetail extends Meeting {
  cascade: { hostEdgeId: string; coreLinks: number; links: number; unreachableSiteIds: string[] };
  stats: MeetingSiteStats[];
  rollCallSiteId?: string | null;
  /** Rooms asking to speak, in the order they asked. */
  requests?: SpeakRequest[];
}

export interface RingProgress { ring: number; name: string; total: number; pending: number; inFlight: number; succeeded: number; failed: number }

export interface Rollout {
  id: string;
  spec: { release: string; rootSiteId?: string | null; rings: { name: string }[] };
  state: 'running' | 'paused' | 'aborted' | 'completed';
  reason: string | null;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
  rings: RingProgress[];
  currentRing: number | null;
  skippedBusy: string[];
  devices?: { deviceId: string; siteId: string; ring: number; state: 'pending' | 'in-flight' | 'succeeded' | 'failed'; reason: string | null }[];
}
