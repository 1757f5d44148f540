// The OTA API's answers (releases, rollouts) as TypeBox schemas: the routes
// serialise with them and the dashboard reads their static types
// (api/http-types.ts). No fastify or Node import here, so the browser's
// typecheck can follow it.
import { Type, type TSchema } from '@sinclair/typebox';
import { ReleaseManifestSchema, VersionSchema } from '@diemcau/shared';
import { DEVICE_STATES, ROLLOUT_STATES, RolloutSpecSchema } from './rollout-model.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const ReleaseOut = Type.Object({
  version: VersionSchema,
  manifest: ReleaseManifestSchema,
  keyId: Type.String(),
  artifactReady: Type.Boolean({ description: 'the artifact is uploaded and matches the manifest: boxes may fetch it' }),
  uploadedAt: Type.String(),
  uploadedBy: Nullable(Type.String()),
});

export const RingProgressOut = Type.Object({
  ring: Type.Integer(),
  name: Type.String(),
  total: Type.Integer(),
  pending: Type.Integer(),
  inFlight: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  skipped: Type.Integer(),
});

export const RolloutDeviceOut = Type.Object({
  deviceId: Type.String(),
  siteId: Type.String(),
  ring: Type.Integer(),
  state: Literals(DEVICE_STATES),
  dispatchedAt: Nullable(Type.Integer({ description: 'when the fleet set its desired release (ms since the epoch)' })),
  lastReportAt: Nullable(Type.Integer({ description: 'last word from it about this release (ms since the epoch)' })),
  reason: Nullable(Type.String()),
});

export const RolloutOut = Type.Object({
  id: Type.String(),
  spec: RolloutSpecSchema,
  state: Literals(ROLLOUT_STATES),
  reason: Nullable(Type.String()),
  createdAt: Type.String(),
  createdBy: Nullable(Type.String()),
  updatedAt: Type.String(),
  rings: Type.Array(RingProgressOut),
  currentRing: Nullable(Type.Integer()),
  skippedBusy: Type.Array(Type.String(), {
    description: 'sites left alone for now: a meeting is live or about to start',
  }),
  devices: Type.Optional(
    Type.Array(RolloutDeviceOut, { description: 'every device of the rollout, with ?devices=true' }),
  ),
  warnings: Type.Optional(
    Type.Array(Type.String(), {
      description:
        'at creation: scheduled meetings whose edges would be on releases that cannot link (mediaLink in the manifests)',
    }),
  ),
});
