// What the rest of the appliance uses of the media edge: the agent-side client.
// The edge itself is its own program (main.ts).
export { EdgeClient, type EdgeClientOptions } from './client.js';
