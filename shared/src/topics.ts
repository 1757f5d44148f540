// MQTT topic layout. Everything a device says or hears lives under its own
// prefix, which is what the broker's ACL checks:
//   diemcau/v1/devices/{deviceId}/{channel}
// Channels a device publishes on are in DEVICE_PUBLISH, the ones it may
// subscribe to (the fleet publishes there) in DEVICE_SUBSCRIBE.

export const TOPIC_ROOT = 'diemcau/v1/devices';

export const DEVICE_PUBLISH = [
  'presence', // retained birth "online" / last-will "offline"
  'telemetry', // periodic host metrics, numbered
  'command-results', // results of commands, numbered by command id
  'health', // peripheral states and self-test results
  'events', // one-off events (help button pressed, ...)
  'ota', // update progress and outcome
  'os', // operating system update progress and outcome (os-update.ts)
  'media-stats', // per-meeting media statistics from the edge
  'media-edge', // the edge's own transport offers for cascade links
  'readiness-report', // what the box measured for a readiness request
] as const;
export const DEVICE_SUBSCRIBE = [
  'commands', // commands for this device
  'desired', // retained desired state (release, settings)
  'desired-os', // retained desired operating system snapshot (os-update.ts)
  'media', // retained media plan (meetings this edge takes part in)
  'move', // retained signed statement moving this box to another fleet (fleet-move.ts)
  'readiness', // retained readiness request (self-test and probe before a meeting)
] as const;

/**
 * The one topic outside a device's prefix that a device may hear (never
 * publish on): the fleet's broker list (brokers.ts), retained, the same for
 * every box.
 */
export const BROKERS_TOPIC = 'diemcau/v1/fleet/brokers';

export type DevicePublishChannel = (typeof DEVICE_PUBLISH)[number];
export type DeviceSubscribeChannel = (typeof DEVICE_SUBSCRIBE)[number];
export type Channel = DevicePublishChannel | DeviceSubscribeChannel;

const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const isDeviceId = (id: string): boolean => DEVICE_ID.test(id);

export function deviceTopic(deviceId: string, channel: Channel): string {
  if (!isDeviceId(deviceId)) throw new Error(`invalid device id ${JSON.stringify(deviceId)}`);
  return `${TOPIC_ROOT}/${deviceId}/${channel}`;
}

/** Subscription filter for one channel of every device (for the fleet). */
export const allDevicesTopic = (channel: Channel): string => `${TOPIC_ROOT}/+/${channel}`;

export interface ParsedTopic {
  deviceId: string;
  channel: Channel;
}

const CHANNELS = new Set<string>([...DEVICE_PUBLISH, ...DEVICE_SUBSCRIBE]);

/** Splits a device topic; null for anything outside the layout. */
export function parseDeviceTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT) return null;
  const [, , , deviceId, channel] = parts as [string, string, string, string, string];
  if (!isDeviceId(deviceId) || !CHANNELS.has(channel)) return null;
  return { deviceId, channel: channel as Channel };
}

export const canDevicePublish = (deviceId: string, topic: string): boolean => {
  const p = parseDeviceTopic(topic);
  return p !== null && p.deviceId === deviceId && (DEVICE_PUBLISH as readonly string[]).includes(p.channel);
};

export const canDeviceSubscribe = (deviceId: string, filter: string): boolean => {
  if (filter === BROKERS_TOPIC) return true;
  const p = parseDeviceTopic(filter);
  return p !== null && p.deviceId === deviceId && (DEVICE_SUBSCRIBE as readonly string[]).includes(p.channel);
};
