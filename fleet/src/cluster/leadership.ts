// Who runs the fleet's singleton work: presence decisions and their alerts,
// the meeting clock and alert escalation, rollout driving. Exactly one node
// at a time. The embedded fleet is a single node and always leads; a cluster
// elects its leader through a lease in Redis (leader-lease.ts).

export interface Leadership {
  readonly isLeader: boolean;
  /** Called with true when this node starts leading, false when it stops. A throwing listener is logged by the caller's owner. */
  onChange(listener: (leading: boolean) => void): () => void;
}

/** The single embedded node. */
export const ALWAYS_LEADER: Leadership = {
  isLeader: true,
  onChange: () => () => undefined,
};
