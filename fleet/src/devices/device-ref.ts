// A device as the planners need it: which box, at which site. Commands,
// presence and rollouts all reason about "these devices at these sites" and
// take this one shape (adding what only they read), so a device list built
// for one planner fits the others.

export interface DeviceRef {
  deviceId: string;
  siteId: string;
}

/** A registry row (id, siteId) as a DeviceRef. */
export const deviceRef = (d: { id: string; siteId: string }): DeviceRef => ({ deviceId: d.id, siteId: d.siteId });
