export { startReadiness, type ReadinessRunner, type ReadinessDeps } from './runner.js';
export { runProbe, probePacket } from './probe.js';
