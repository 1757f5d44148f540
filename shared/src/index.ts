// The protocol both programs speak: one file per message family, each with
// its topic, its schema and the static type from the same definition.
export * from './errors.js';
export * from './codec.js';
export * from './events.js';
export * from './atomic-file.js';
export * from './http-errors.js';
export * from './topics.js';
export * from './sites.js';
export * from './hierarchy.js';
export * from './presence.js';
export * from './telemetry.js';
export * from './enrolment.js';
export * from './fleet-move.js';
export * from './brokers.js';
export * from './commands.js';
export * from './bootstrap.js';
export * from './media.js';
export * from './join-link.js';
export * from './ota.js';
export * from './os-update.js';
export * from './health.js';
export * from './readiness.js';
export * from './settings.js';
export * from './favicon.js';
