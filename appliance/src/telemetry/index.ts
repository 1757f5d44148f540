export type { HostSample, TelemetryCollector } from './types.js';
export { SystemCollector } from './system-collector.js';
export { SimulatedCollector } from './sim-collector.js';
export { SeqStore } from './seq-store.js';
export { TelemetrySampler } from './sampler.js';
