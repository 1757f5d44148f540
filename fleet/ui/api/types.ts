// The shapes the dashboard reads from the fleet's HTTP API and event stream:
// the server's own types (fleet/src/api/http-types.ts, the static types of the
// response schemas), imported type-only so nothing reaches the bundle. A field
// the server renames or drops is a type error here, not a blank on a screen.
// The only additions are marks the page itself puts on the data.
import type {
  AckView,
  AlertView,
  AuditView,
  CommandViewData,
  DeviceView,
  HierarchyView,
  IssuedJoinLinkView,
  JoinLinkView,
  MeetingDetailView,
  MeetingSiteStatsView,
  MeetingView,
  ReadinessBoardView,
  RollCallPictureView,
  OtaReportView,
  OsReportView,
  RingProgressView,
  RolloutView,
  SelfTestView,
  SessionView,
  SiteView,
  TelemetryRowView,
} from '../../src/api/http-types.js';

export type {
  AlertSeverity,
  AlertType,
  CommandType,
  Label,
  OperatorArea,
  OperatorRole,
  Peripherals,
  PeripheralState,
  RelayGroup,
  SiteKind,
  SiteKindDef as KindDef,
  Telemetry as TelemetrySample,
} from '../../src/api/http-types.js';

/** One message from GET /api/v1/events (defined beside the server code that sends it). */
export type { UiEvent as FleetEvent, UiAck as AlertAck } from '../../src/ui/ui-events.js';

export type Site = SiteView;
export type Hierarchy = HierarchyView;
export type TelemetryRow = TelemetryRowView;
export type OtaReport = OtaReportView;
export type OsReport = OsReportView;
export type CommandView = CommandViewData;
export type AuditEntry = AuditView;
/** The signed-in operator (GET /api/v1/ui/session). */
export type Operator = SessionView;
/** A self-test as the box reported it (the `result` of GET /api/v1/devices/{id}/self-tests). */
export type SelfTestResult = SelfTestView['result'];
export type Meeting = MeetingView;
export type MeetingDetail = MeetingDetailView;
export type ReadinessBoard = ReadinessBoardView;
export type ReadinessSite = ReadinessBoardView['sites'][number];
/** GET /api/v1/meetings/{id}/readiness/{siteId}/snapshot */
export interface RoomSnapshot {
  siteId: string;
  at: string;
  w: number;
  h: number;
  grey: string;
}
export type MeetingSiteStats = MeetingSiteStatsView;
/** POST /api/v1/meetings/{id}/roll-call/picture */
export type RollCallPicture = RollCallPictureView;
/** POST /api/v1/meetings/{id}/join-links: the link, shown once. */
export type JoinLink = JoinLinkView;
/** GET /api/v1/meetings/{id}/join-links: what each link is for and its state, never the link. */
export type IssuedJoinLink = IssuedJoinLinkView;
export type Rollout = RolloutView;
export type RingProgress = RingProgressView;

export type Device = DeviceView & {
  /** Marked by the page (state/model.ts): in flight in a running rollout. */
  updating?: boolean;
  /** Marked by the page: its site has a meeting live now. */
  inMeeting?: boolean;
};

/** An alert with its acknowledgement merged in by the page (GET /api/v1/alert-acks and the feed). */
export type Alert = AlertView & {
  acknowledgedAt?: AckView['at'] | null;
  acknowledgedBy?: AckView['by'];
  ackNote?: AckView['note'] | null;
};
