import { Type, type TSchema } from '@sinclair/typebox';
import {
  LabelSchema,
  PeripheralsSchema,
  RelayGroupSchema,
  SelfTestResultSchema,
  SiteKindDefSchema,
  SiteKindSchema,
  SiteIdSchema,
  TelemetrySchema,
} from '@diemcau/shared';
import { ROLE_NAMES } from '../access.js';

// HTTP response schemas: they document the API (OpenAPI at /docs) and make
// fastify serialise with a compiled stringifier that drops anything unlisted.

export const ErrorSchema = Type.Object(
  { code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) },
  { $id: 'Error' },
);

export const ListOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item) });

/** The error responses every authenticated route can give. */
export const authErrors = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  403: Type.Ref('Error'),
};

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const SiteOut = Type.Object({
  id: SiteIdSchema,
  name: Type.String(),
  kind: SiteKindSchema,
  parentId: Nullable(Type.String()),
  address: Type.Optional(Type.String()),
  contact: Type.Optional(Type.String()),
});

export const TelemetrySampleOut = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  receivedAt: Type.String(),
  data: TelemetrySchema,
});

export const DeviceOut = Type.Object({
  id: Type.String(),
  siteId: Type.String(),
  serial: Nullable(Type.String()),
  online: Type.Boolean(),
  lastSeenAt: Nullable(Type.String()),
  presenceAt: Nullable(Type.String()),
  agentVersion: Nullable(Type.String()),
  os: Nullable(Type.String()),
  model: Nullable(Type.String()),
  hardware: Nullable(Type.String()),
  peripherals: Nullable(PeripheralsSchema),
  enrolledAt: Type.String(),
  /** When the device was decommissioned; only revoked devices (GET /devices?revoked=true) have one. */
  revokedAt: Nullable(Type.String()),
  /** The newest telemetry sample, or null before the first. */
  telemetry: Nullable(TelemetrySampleOut),
});

export const DeviceDetailOut = Type.Composite([DeviceOut, Type.Object({ siteName: Type.String() })]);

export const AlertOut = Type.Object({
  id: Type.Integer(),
  type: Type.String(),
  key: Type.String(),
  severity: Type.String(),
  state: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  siteId: Nullable(Type.String()),
  deviceId: Nullable(Type.String()),
  message: Nullable(Type.String()),
  details: Nullable(Type.Record(Type.String(), Type.Unknown())),
  openedAt: Type.String(),
  updatedAt: Type.String(),
  resolvedAt: Nullable(Type.String()),
  resolution: Nullable(Type.String()),
});

/** 'district-operator' is accepted as the older name of 'area-operator' and answered as the new one. */
export const OperatorRoleSchema = Type.Union(ROLE_NAMES.map((r) => Type.Literal(r)));

/** An area operator's area: a subtree (a site and everything under it) or a relay group of the dataset. */
export const OperatorAreaSchema = Type.Union([
  Type.Object({ kind: Type.Literal('subtree'), siteId: Type.String() }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('relay-group'), groupId: Type.String() }, { additionalProperties: false }),
]);

export const OperatorOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: OperatorRoleSchema,
  area: Nullable(OperatorAreaSchema),
  /** The area's root site when the area is a subtree (the district operator's field). */
  districtId: Nullable(Type.String()),
  createdAt: Type.String(),
});

/** GET /hierarchy: the registry's dataset, its kinds and relay groups. */
export const HierarchyOut = Type.Object({
  dataset: Nullable(Type.String()),
  name: Nullable(LabelSchema),
  kinds: Type.Array(SiteKindDefSchema),
  relayGroups: Type.Array(RelayGroupSchema),
});

/** GET /ui/session: who the token belongs to. */
export const SessionOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  area: Nullable(OperatorAreaSchema),
  districtId: Nullable(Type.String()),
});

/** An alert's acknowledgement (POST /alerts/{id}/ack, GET /alert-acks, the live feed). */
export const AckOut = Type.Object({
  alertId: Type.Integer(),
  at: Type.String(),
  by: Nullable(Type.String()),
  note: Type.String(),
});

/** One stored self-test (GET /devices/{id}/self-tests). */
export const SelfTestOut = Type.Object({
  id: Type.Integer(),
  deviceId: Type.String(),
  commandId: Nullable(Type.String()),
  receivedAt: Type.String(),
  result: SelfTestResultSchema,
});

export const AuditOut = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  operatorId: Nullable(Type.String()),
  operatorName: Nullable(Type.String()),
  action: Type.String(),
  target: Nullable(Type.String()),
  outcome: Nullable(Type.String()),
  details: Type.Unknown(),
});
