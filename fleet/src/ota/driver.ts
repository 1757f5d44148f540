// How a rollout reaches devices. The planner decides who updates; a driver
// carries it out: the MQTT driver retains a desired release on each box's
// 'desired' channel and hears back on 'ota' (push), the balena driver pins a
// device to a balena release and reads its state back (pull).
import type { OsTarget } from '@diemcau/shared';
import type { ReleaseRecord } from './repo.js';

export interface DispatchTarget {
  deviceId: string;
  siteId: string;
}

export interface DeviceReport {
  /** 'skipped': the box refused the release as a downgrade (it runs a newer version). */
  state: 'succeeded' | 'failed' | 'skipped' | 'in-progress';
  reason?: string;
}

export interface RolloutDriver {
  readonly name: string;
  dispatch(
    target: DispatchTarget,
    release: ReleaseRecord,
    ctx: { rolloutId: string; bandwidthLimit?: number },
  ): Promise<void>;
  /**
   * Withdraws the release from a device that has not finished (the rollout
   * was aborted): a box still downloading drops it, one already switched
   * finishes its health gate and commits or rolls back.
   */
  cancel?(target: DispatchTarget): Promise<void>;
  /**
   * An operating system snapshot to apply (OS rollouts). A driver without it
   * cannot roll out OS updates (balena updates its host OS its own way).
   */
  dispatchOs?(target: DispatchTarget, os: OsTarget, ctx: { rolloutId: string }): Promise<void>;
  /** Withdraws an OS snapshot from a device that has not applied it yet (an aborted OS rollout). */
  cancelOs?(target: DispatchTarget): Promise<void>;
  /** Which of these devices are reachable now. */
  online(deviceIds: readonly string[]): Promise<Set<string>>;
  /** Pull-based drivers report here on every tick; push-based ones feed RolloutService.handleStatus(). */
  poll?(deviceIds: readonly string[], release: ReleaseRecord): Promise<Map<string, DeviceReport>>;
  close?(): Promise<void>;
}
