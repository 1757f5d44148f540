// Live media statistics: the newest 'media-stats' report of each edge, and
// the per-site view the API shows (what the site sends and how its link to
// the cascade is doing). Reports are kept in memory only: they are stale
// within seconds and the edges send them again.
import type { Logger } from 'pino';
import type { MediaStats } from '@diemcau/shared';
import type { CascadePlan } from './cascade.js';

export interface SiteMediaStats {
  siteId: string;
  edgeId: string | null;
  /** When the edge's report was made; null when there is no fresh report. */
  at: string | null;
  /** What the room sends into its edge, all streams together. */
  bitrateBps: number | null;
  /** Worst of the room's streams and its link up the cascade, 0..1. */
  lossRate: number | null;
  jitterMs: number | null;
  /** Round trip of the link up the cascade; null for the host or before it is measured. */
  rttMs: number | null;
  /** Round trip all the way to the host (sum over the hops); null while a hop is unmeasured. */
  pathRttMs: number | null;
  linkState: 'connecting' | 'connected' | 'failed' | null;
  activeSpeakerSiteId: string | null;
  /** What the room sends, by kind: a closed microphone or a held-back camera reads 0. */
  audioBps: number | null;
  videoBps: number | null;
  /** What reaches the room's edge from the rest of the meeting (its link up, or for the host its links down). */
  recvBps: number | null;
  /**
   * The room's edge as its upstream sees it, from the upstream's own report:
   * media can still flow from a box whose agent (which carries the box's own
   * reports) has died. Null for the host or when the upstream has no fresh report.
   */
  seenUpstream: { state: 'connecting' | 'connected' | 'failed'; recvBps: number } | null;
}

interface Received {
  report: MediaStats;
  receivedAt: number;
}

const empty = (siteId: string, edgeId: string | null): SiteMediaStats => ({
  siteId,
  edgeId,
  at: null,
  bitrateBps: null,
  lossRate: null,
  jitterMs: null,
  rttMs: null,
  pathRttMs: null,
  linkState: null,
  activeSpeakerSiteId: null,
  audioBps: null,
  videoBps: null,
  recvBps: null,
  seenUpstream: null,
});

/** Pure: per-site stats of one meeting from the edges' newest reports. */
export function siteStats(
  plan: CascadePlan,
  reports: ReadonlyMap<string, Received>,
  now: number,
  staleMs: number,
): SiteMediaStats[] {
  const edgeOfSite = new Map(plan.entries.filter((e) => e.localSiteId !== null).map((e) => [e.localSiteId!, e]));
  const byEdge = new Map(plan.entries.map((e) => [e.edgeId, e]));
  const fresh = (edgeId: string) => {
    const got = reports.get(edgeId);
    return got && now - got.receivedAt <= staleMs
      ? got.report.meetings.find((x) => x.meetingId === plan.meetingId)
      : undefined;
  };
  // A commune 200 km out sees the chair over two or three hops; what matters
  // to it is the whole way, not only its own link.
  const pathRtt = (edgeId: string): number | null => {
    let total = 0;
    for (let e = byEdge.get(edgeId); e?.upstreamEdgeId; e = byEdge.get(e.upstreamEdgeId)) {
      const rtt = fresh(e.edgeId)?.links.find((l) => l.direction === 'up')?.rttMs;
      if (rtt === undefined || rtt === null) return null;
      total += rtt;
    }
    return total;
  };
  const seenUpstream = (entry: CascadePlan['entries'][number]): SiteMediaStats['seenUpstream'] => {
    const down =
      entry.upstreamEdgeId === null
        ? undefined
        : fresh(entry.upstreamEdgeId)?.links.find((l) => l.direction === 'down' && l.peerEdgeId === entry.edgeId);
    return down ? { state: down.state, recvBps: down.recvBitrateBps } : null;
  };
  const byKind = (local: readonly { kind: string; bitrateBps: number }[], kind: string): number =>
    local.filter((s) => s.kind === kind).reduce((sum, s) => sum + s.bitrateBps, 0);
  return plan.siteIds.map((siteId) => {
    const entry = edgeOfSite.get(siteId);
    if (!entry) return empty(siteId, null);
    const m = fresh(entry.edgeId);
    if (!m) return { ...empty(siteId, entry.edgeId), seenUpstream: seenUpstream(entry) };
    const up = m.links.find((l) => l.direction === 'up') ?? null;
    const local = m.local.filter((s) => s.siteId === siteId);
    const losses = [...local.map((s) => s.lossRate), ...(up ? [up.lossRate] : [])];
    const jitters = [...local.map((s) => s.jitterMs), ...(up ? [up.jitterMs] : [])];
    return {
      siteId,
      edgeId: entry.edgeId,
      at: reports.get(entry.edgeId)!.report.at,
      bitrateBps: local.reduce((sum, s) => sum + s.bitrateBps, 0),
      lossRate: losses.length > 0 ? Math.max(...losses) : null,
      jitterMs: jitters.length > 0 ? Math.max(...jitters) : null,
      rttMs: up?.rttMs ?? null,
      pathRttMs: entry.upstreamEdgeId === null ? 0 : pathRtt(entry.edgeId),
      linkState: up?.state ?? null,
      activeSpeakerSiteId: m.activeSpeakerSiteId,
      audioBps: byKind(local, 'audio'),
      videoBps: byKind(local, 'video'),
      recvBps: up
        ? up.recvBitrateBps
        : m.links.filter((l) => l.direction === 'down').reduce((sum, l) => sum + l.recvBitrateBps, 0),
      seenUpstream: seenUpstream(entry),
    };
  });
}

export interface StatsCounters {
  accepted: number;
  rejected: number;
}

export class LiveStats {
  private readonly latest = new Map<string, Received>();
  readonly counters: StatsCounters = { accepted: 0, rejected: 0 };

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly staleMs: number,
  ) {}

  /** A decoded report from diemcau/v1/devices/{deviceId}/media-stats. Never throws. */
  record(deviceId: string, report: MediaStats): boolean {
    if (report.edgeId !== deviceId) {
      // A box may only speak for itself: the topic is what the broker's ACL checked.
      this.counters.rejected += 1;
      this.log.warn({ deviceId, claimed: report.edgeId }, 'media-stats for another edge rejected');
      return false;
    }
    this.counters.accepted += 1;
    this.latest.set(deviceId, { report, receivedAt: this.now() });
    return true;
  }

  forMeeting(plan: CascadePlan): SiteMediaStats[] {
    const now = this.now();
    // Drop what is long dead so a removed box does not stay in memory forever.
    for (const [edgeId, r] of this.latest) if (now - r.receivedAt > 10 * this.staleMs) this.latest.delete(edgeId);
    return siteStats(plan, this.latest, now, this.staleMs);
  }
}
