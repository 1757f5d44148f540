import type { Telemetry } from '@diemcau/shared';

/** The host's metrics, without the envelope (version, sequence, time) the sampler adds. */
export type HostSample = Omit<Telemetry, 'v' | 'seq' | 'at' | 'dropped'>;

/** Real (systeminformation) and simulated collectors implement this; config picks one. */
export interface TelemetryCollector {
  collect(): Promise<HostSample>;
}
