// The room's hardware: camera, microphone, TV, GPIO, power and host, each with
// a real and a simulated implementation, composed by createHardware().
export { createHardware, type CreateHardwareOptions, type SimulatedHardware } from './hardware.js';
export {
  DEFAULT_HARDWARE,
  DevicesSettingsSchema,
  hardwareOptionsFrom,
  hardwareOptionsFromEnv,
  withDefaults,
  type HardwareOptions,
} from './config.js';
export { createHealthMonitor, type HealthMonitor } from './monitor.js';
export { FAULTS, isFault, parseFaults, type FaultInjector, type FaultName } from './simulated/faults.js';
export { changedPeripherals, roomReady } from './verdicts.js';
export { systemClock, type Clock } from './gpio/pins.js';
export { statusPattern, PATTERNS, type AgentStatus } from './gpio/led.js';
export type * from './types.js';
