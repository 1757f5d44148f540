// The data types of the fleet's HTTP API, as the static types of the response
// schemas the routes serialise with: what a client receives is exactly this,
// since fastify drops anything a schema does not list. The dashboard imports
// them (type-only, through fleet/ui/api/types.ts) instead of redeclaring them,
// so a field the server renames or drops breaks the dashboard's typecheck,
// not an operator's screen. Type-only imports: nothing here reaches a bundle.
import type { Static } from '@sinclair/typebox';
import type { OsStatus, OtaStatus } from '@diemcau/shared';
import type { CommandViewSchema } from '../commands/schemas.js';
import type {
  IssuedJoinLinkSchema,
  JoinLinkSchema,
  MeetingDetailSchema,
  MeetingSchema,
  RollCallPictureSchema,
  SiteStatsSchema,
} from '../meetings/schemas.js';
import type { RingProgressOut, RolloutOut } from '../ota/schemas.js';
import type {
  AckOut,
  AlertOut,
  AuditOut,
  DeviceOut,
  HierarchyOut,
  SelfTestOut,
  SessionOut,
  SiteOut,
  TelemetrySampleOut,
} from './schemas.js';

export type {
  CommandType,
  Label,
  Peripherals,
  PeripheralState,
  RelayGroup,
  SiteKind,
  SiteKindDef,
  Telemetry,
} from '@diemcau/shared';
export type { OperatorArea, OperatorRole } from '../access.js';
export type { AlertSeverity, AlertType } from '../alerts/alert-types.js';

export type SiteView = Static<typeof SiteOut>;
export type HierarchyView = Static<typeof HierarchyOut>;
export type DeviceView = Static<typeof DeviceOut>;
/** A stored telemetry sample: GET /devices/{id}/telemetry, and the device's newest in GET /devices/{id}. */
export type TelemetryRowView = Static<typeof TelemetrySampleOut>;
export type AlertView = Static<typeof AlertOut>;
export type AckView = Static<typeof AckOut>;
export type AuditView = Static<typeof AuditOut>;
export type SessionView = Static<typeof SessionOut>;
export type SelfTestView = Static<typeof SelfTestOut>;
export type CommandViewData = Static<typeof CommandViewSchema>;
export type MeetingView = Static<typeof MeetingSchema>;
export type MeetingDetailView = Static<typeof MeetingDetailSchema>;
export type MeetingSiteStatsView = Static<typeof SiteStatsSchema>;
export type RollCallPictureView = Static<typeof RollCallPictureSchema>;
/** A join link as issued (POST /meetings/{id}/join-links): the only answer that carries the link. */
export type JoinLinkView = Static<typeof JoinLinkSchema>;
/** A join link as listed (GET /meetings/{id}/join-links), never the link itself. */
export type IssuedJoinLinkView = Static<typeof IssuedJoinLinkSchema>;
export type { ReadinessBoard as ReadinessBoardView } from '../readiness/routes.js';
export type RolloutView = Static<typeof RolloutOut>;
export type RingProgressView = Static<typeof RingProgressOut>;
/** A box's last OTA report (GET /devices/{id}/ota), as the box sent it. */
export type OtaReportView = OtaStatus;
/** A box's last operating system update report (GET /devices/{id}/os). */
export type OsReportView = OsStatus;
