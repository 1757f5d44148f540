// The default driver: the desired release goes to each box as a retained
// message on its 'desired' channel (delivered whenever it next connects), and
// boxes report on 'ota'. A commune whose district box runs a cache is given
// the cache's URL first and the fleet's second, so the artifact crosses the
// province's link once per district and a dead cache costs only a retry.
import { deviceTopic, type DesiredOs, type DesiredRelease } from '@diemcau/shared';
import type { DispatchTarget, RolloutDriver } from './driver.js';
import type { ReleaseRecord } from './repo.js';

export interface MqttDriverPorts {
  publish(topic: string, payload: string, opts: { qos: 1; retain: true }): Promise<void>;
  /** Ids of the devices connected now. */
  onlineIds(): Promise<ReadonlySet<string>>;
  /**
   * Base URL of the fleet's HTTP as boxes reach it; null sends a path that
   * each box resolves against the fleet URL it enrolled with.
   */
  fleetUrl(): string | null;
  /** Base URL of a cache the box should try first (its district box's), or null. */
  cacheFor(target: DispatchTarget): Promise<string | null>;
}

export const artifactPath = (version: string): string => `/api/v1/releases/${encodeURIComponent(version)}/artifact`;

export function desiredRelease(
  release: ReleaseRecord,
  urls: string[],
  ctx: { rolloutId: string; bandwidthLimit?: number },
): DesiredRelease {
  return {
    v: 1,
    version: release.version,
    manifest: release.signed,
    urls,
    rolloutId: ctx.rolloutId,
    ...(ctx.bandwidthLimit ? { bandwidthLimit: ctx.bandwidthLimit } : {}),
  };
}

export function createMqttDriver(ports: MqttDriverPorts): RolloutDriver {
  return {
    name: 'mqtt',
    async dispatch(target, release, ctx) {
      const path = artifactPath(release.version);
      const cache = await ports.cacheFor(target);
      const base = ports.fleetUrl();
      const urls = [
        ...(cache ? [`${cache.replace(/\/$/, '')}${path}`] : []),
        base ? `${base.replace(/\/$/, '')}${path}` : path,
      ];
      const body = { v: 1, release: desiredRelease(release, urls, ctx) };
      await ports.publish(deviceTopic(target.deviceId, 'desired'), JSON.stringify(body), { qos: 1, retain: true });
    },
    async cancel(target) {
      await ports.publish(deviceTopic(target.deviceId, 'desired'), JSON.stringify({ v: 1, release: null }), {
        qos: 1,
        retain: true,
      });
    },
    // Its own retained channel: the 'desired' message is the release's, and one would overwrite the other.
    async dispatchOs(target, os, ctx) {
      const body: DesiredOs = {
        v: 1,
        update: { snapshot: os.snapshot, sources: os.sources, rolloutId: ctx.rolloutId },
      };
      await ports.publish(deviceTopic(target.deviceId, 'desired-os'), JSON.stringify(body), { qos: 1, retain: true });
    },
    async cancelOs(target) {
      const body: DesiredOs = { v: 1, update: null };
      await ports.publish(deviceTopic(target.deviceId, 'desired-os'), JSON.stringify(body), { qos: 1, retain: true });
    },
    async online(ids) {
      const on = await ports.onlineIds();
      return new Set(ids.filter((id) => on.has(id)));
    },
  };
}
