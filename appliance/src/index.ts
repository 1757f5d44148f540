// What other programs (the demo, the benchmark, tests) use of the appliance
// without going through its command line.
export { Agent, type AgentDeps, ChannelRouter, type ChannelHandler, readAgentVersion } from './agent/index.js';
export { loadConfig, readConfig, dataPaths, type AgentConfig } from './config.js';
export { DiskQueue, MemoryQueue, type DurableQueue } from './queue/index.js';
export { SimulatedCollector, SystemCollector, type TelemetryCollector } from './telemetry/index.js';
export { startSimulation, type Simulation, type SimulationOptions, type SimAgent } from './sim/simulation.js';
export { planDevices, parseTokensFile, sliceBounds } from './sim/planner.js';
