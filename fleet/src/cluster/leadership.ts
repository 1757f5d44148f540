// Who runs the fleet's singleton work: presence decisions and their alerts,
// the meeting clock and alert escalation, rollout driving. Exactly one node
// at a time. The embedded fleet is a single node and always leads; a cluster
// elects its leader through a lease: a row in PostgreSQL with a term when the
// registry is PostgreSQL (store-lease.ts), else a key in Redis
// (leader-lease.ts).
import { DiemcauError } from '@diemcau/shared';

/**
 * Runs one piece of the leader's work so that it counts only while this
 * node leads: it throws FLEET_ERR_NOT_LEADER instead of running fn when the
 * lead is lost. With PostgreSQL the check and fn's writes are one
 * transaction that holds the lease row, so a leader that stalled (paused,
 * swapped out) and wakes after another took over cannot write once more.
 */
export type Fence = <T>(fn: () => Promise<T>) => Promise<T>;

export interface Leadership {
  readonly isLeader: boolean;
  /** Called with true when this node starts leading, false when it stops. A throwing listener is logged by the caller's owner. */
  onChange(listener: (leading: boolean) => void): () => void;
  readonly fence: Fence;
}

/** A lease that competes for the lead (the cluster's). */
export interface LeaderElection extends Leadership {
  start(): void;
  /** Stops competing and hands the lead back at once. Safe twice. */
  close(): Promise<void>;
}

export const notLeader = (): DiemcauError => new DiemcauError('FLEET_ERR_NOT_LEADER');

/** Whether err is the fence's refusal (expected after losing the lead: logged quietly). */
export const isNotLeader = (err: unknown): boolean =>
  err instanceof DiemcauError && err.code === 'FLEET_ERR_NOT_LEADER';

/** No fence: the work runs as it is (the embedded node, and work that any node may do). */
export const UNFENCED: Fence = (fn) => fn();

/** The single embedded node. */
export const ALWAYS_LEADER: Leadership = {
  isLeader: true,
  onChange: () => () => undefined,
  fence: UNFENCED,
};
