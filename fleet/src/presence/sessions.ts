// Which devices are online, as plain data: a device is online while it holds
// at least one live MQTT session on any fleet node, and only then.
//
// Why sessions and not "the last event wins": aedes reports a connection's
// start, its birth and its end through different asynchronous paths, and a
// box that reconnects while its old session is still closing (on the same
// node, or on another node of a cluster) produces them interleaved. Two of
// those orders used to leave a device counted online with nothing connected:
// - a late close of a replaced connection removes the new connection's entry
//   from aedes' client map (same client id), and aedes then never reports the
//   new connection's own end;
// - a birth published just before its connection dropped reaches the
//   publish handlers after the drop, and was taken as "online".
// After a collapsed reconnect storm that drift reached most of the fleet.
// Here every session has its own id, starts once and ends once, its end comes
// from the connection's own close (not aedes' client map), and a birth never
// makes a device online: only a live session does. An end that overtakes its
// start (across nodes, or replayed after a snapshot) is remembered, so the
// late start is ignored.

export interface SessionStart {
  deviceId: string;
  /** Unique across the fleet's nodes and restarts. */
  sessionId: string;
  nodeId: string;
}

/** A presence change the table decided: the device's first session began, or its last one ended. */
export interface PresenceTransition {
  deviceId: string;
  online: boolean;
}

/** Ended sessions remembered for out-of-order starts; old ones are dropped past this many. */
const MAX_ENDED = 100_000;

export class SessionTable {
  /** deviceId -> sessionId -> nodeId */
  private readonly byDevice = new Map<string, Map<string, string>>();
  private readonly sessionDevice = new Map<string, string>();
  private readonly ended = new Set<string>();

  /** Devices with at least one live session. */
  get online(): number {
    return this.byDevice.size;
  }

  isOnline(deviceId: string): boolean {
    return this.byDevice.has(deviceId);
  }

  /** Live sessions of a device (for tests and diagnostics). */
  sessionsOf(deviceId: string): string[] {
    return [...(this.byDevice.get(deviceId)?.keys() ?? [])];
  }

  /** Returns the transition to online, or null (already online, or the session already ended). */
  start(s: SessionStart): PresenceTransition | null {
    if (this.ended.has(s.sessionId) || this.sessionDevice.has(s.sessionId)) return null;
    let sessions = this.byDevice.get(s.deviceId);
    const wasOnline = sessions !== undefined;
    if (!sessions) {
      sessions = new Map();
      this.byDevice.set(s.deviceId, sessions);
    }
    sessions.set(s.sessionId, s.nodeId);
    this.sessionDevice.set(s.sessionId, s.deviceId);
    return wasOnline ? null : { deviceId: s.deviceId, online: true };
  }

  /** Returns the transition to offline when this was the device's last session, else null. */
  end(sessionId: string, deviceId?: string): PresenceTransition | null {
    this.remember(sessionId);
    const owner = this.sessionDevice.get(sessionId) ?? deviceId;
    this.sessionDevice.delete(sessionId);
    if (owner === undefined) return null;
    const sessions = this.byDevice.get(owner);
    if (!sessions?.delete(sessionId)) return null;
    if (sessions.size > 0) return null;
    this.byDevice.delete(owner);
    return { deviceId: owner, online: false };
  }

  /** Ends every session a node held (the node died): the devices left with none go offline. */
  endNode(nodeId: string): PresenceTransition[] {
    const out: PresenceTransition[] = [];
    for (const [deviceId, sessions] of [...this.byDevice]) {
      for (const [sessionId, node] of [...sessions]) {
        if (node !== nodeId) continue;
        const t = this.end(sessionId, deviceId);
        if (t) out.push(t);
      }
    }
    return out;
  }

  /** Ends a device's sessions at once (revoked): returns whether it was online. */
  forget(deviceId: string): boolean {
    const sessions = this.byDevice.get(deviceId);
    if (!sessions) return false;
    for (const id of sessions.keys()) {
      this.remember(id);
      this.sessionDevice.delete(id);
    }
    this.byDevice.delete(deviceId);
    return true;
  }

  /** Nodes that hold at least one session. */
  nodes(): Set<string> {
    const out = new Set<string>();
    for (const sessions of this.byDevice.values()) for (const node of sessions.values()) out.add(node);
    return out;
  }

  private remember(sessionId: string): void {
    this.ended.add(sessionId);
    if (this.ended.size <= MAX_ENDED) return;
    // Sets iterate in insertion order: the oldest go first.
    for (const id of this.ended) {
      this.ended.delete(id);
      if (this.ended.size <= MAX_ENDED) break;
    }
  }
}
