// Drives a rollout through balena (balenaCloud or openBalena) with
// balena-sdk: the same planner picks who updates next; this driver pins each
// chosen device to the balena release whose version is the rollout's,
// optionally reboots it, and reads back whether it runs that release. Our
// device ids map to balena uuids (identity by default). Tested against a
// local stand-in for the few API endpoints the sdk calls
// (fleet/test/ota/balena-standin.ts), not against balenaCloud itself.
import { getSdk, type BalenaSDK } from 'balena-sdk';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import type { DeviceReport, RolloutDriver } from './driver.js';
import type { ReleaseRecord } from './repo.js';

export interface BalenaDriverOptions {
  /** e.g. https://api.balena-cloud.com/ or an openBalena API URL. */
  apiUrl: string;
  /** A balena API key (session tokens work too). */
  token: string;
  /** The balena fleet (application) slug, e.g. "yenbai/diemcau-agent". */
  application: string;
  /** Reboot after pinning (the supervisor updates without one; some images want a clean start). */
  reboot?: boolean;
  uuidOf?: (deviceId: string) => string;
  log: Logger;
}

/** balena update_status values that mean the update will not happen by itself. */
const FAILED_STATUS = new Set(['aborted', 'rejected']);

export async function createBalenaDriver(o: BalenaDriverOptions): Promise<RolloutDriver> {
  const sdk: BalenaSDK = getSdk({ apiUrl: o.apiUrl, dataDirectory: false, isBrowser: false });
  await sdk.auth.loginWithToken(o.token);
  const uuid = o.uuidOf ?? ((id: string) => id);
  const releases = new Map<string, number>();

  // Our version → balena release id (raw_version is the version a release was built with).
  const releaseId = async (version: string): Promise<number> => {
    const known = releases.get(version);
    if (known !== undefined) return known;
    let rel: { id: number };
    try {
      rel = (await sdk.models.release.get(
        { application: o.application, rawVersion: version },
        { $select: ['id'] },
      )) as { id: number };
    } catch (err) {
      throw new DiemcauError('FLEET_ERR_NOT_FOUND', `balena release ${version} in ${o.application}`, { cause: err });
    }
    releases.set(version, rel.id);
    return rel.id;
  };

  return {
    name: 'balena',
    async dispatch(target, release: ReleaseRecord) {
      const id = await releaseId(release.version);
      await sdk.models.device.pinToRelease(uuid(target.deviceId), id);
      if (o.reboot) await sdk.models.device.reboot(uuid(target.deviceId));
      o.log.info({ deviceId: target.deviceId, release: release.version, balenaRelease: id }, 'pinned on balena');
    },
    async online(ids) {
      const out = new Set<string>();
      for (const id of ids) {
        try {
          if (await sdk.models.device.isOnline(uuid(id))) out.add(id);
        } catch (err) {
          // Unknown to balena: not reachable through this driver.
          o.log.debug({ deviceId: id, err }, 'balena device lookup failed');
        }
      }
      return out;
    },
    async poll(ids, release) {
      const want = await releaseId(release.version);
      const out = new Map<string, DeviceReport>();
      for (const id of ids) {
        const d = (await sdk.models.device.get(uuid(id), {
          $select: ['id', 'update_status'],
          $expand: { is_running__release: { $select: ['id'] } },
        })) as unknown as { update_status: string | null; is_running__release: { id: number }[] };
        const running = d.is_running__release[0]?.id;
        if (running === want) out.set(id, { state: 'succeeded' });
        else if (d.update_status && FAILED_STATUS.has(d.update_status))
          out.set(id, { state: 'failed', reason: `balena update ${d.update_status}` });
        else out.set(id, { state: 'in-progress' });
      }
      return out;
    },
  };
}
