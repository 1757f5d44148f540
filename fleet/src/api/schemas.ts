import { Type, type TSchema } from '@sinclair/typebox';
import { PeripheralsSchema, SiteKindSchema, SiteIdSchema, TelemetrySchema } from '@diemcau/shared';

// HTTP response schemas: they document the API (OpenAPI at /docs) and make
// fastify serialise with a compiled stringifier that drops anything unlisted.

export const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }, { $id: 'Error' });

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
export const OperatorRoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('area-operator'), Type.Literal('district-operator'), Type.Literal('viewer')]);

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
