export { Agent, type AgentDeps } from './agent.js';
export { ChannelRouter, type ChannelHandler } from './router.js';
export { MqttSession } from './session.js';
export { DurablePublisher } from './durable.js';
export { enrol } from './enrol.js';
export { loadIdentity, saveIdentity, type Identity } from './identity.js';
export { readAgentVersion } from './version.js';
export { backoffDelay } from '../backoff.js';
