import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

const Num = (opts = {}) => Type.Number({ minimum: 0, ...opts });

/** One sample of host metrics. `seq` grows by one per sample and survives restarts. */
export const TelemetrySchema = Type.Object({
  v: Type.Literal(1),
  seq: Type.Integer({ minimum: 0 }),
  at: Type.String({ format: 'date-time' }),
  cpu: Type.Object({ loadPercent: Num({ maximum: 100 }), temperatureC: Type.Optional(Type.Number()) }),
  memory: Type.Object({ usedBytes: Num(), totalBytes: Num() }),
  disk: Type.Object({ usedBytes: Num(), totalBytes: Num() }),
  network: Type.Object({ rxBytesPerSec: Num(), txBytesPerSec: Num() }),
  uptimeSec: Num(),
  /** Samples dropped from the on-disk queue since the last delivered one. */
  dropped: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Telemetry = Static<typeof TelemetrySchema>;
export const telemetryCodec = codec(TelemetrySchema);
