// The chair's console: what each room of a live meeting is doing, in words the
// chair's operator uses, from the meeting's per-site media figures, the box's
// presence and the chair's own decisions. Pure, so the console and its tests
// read the same answers.
import type { MeetingDetail, MeetingSiteStats } from '../api/types.js';
import type { SiteState } from './derive.js';

/**
 * One word for a room:
 * - `in-meeting`: its box reports and its link (if it has one) is through;
 * - `connecting`: its link up is being made;
 * - `link-failed`: its link up broke;
 * - `agent-down-media-up`: the box's agent is silent (offline) but its media
 *   still reaches the upstream edge;
 * - `offline`: box offline, nothing arriving;
 * - `no-report`: the box is online but its edge has sent no figures yet;
 * - `no-box`: the site has no box (or none with a media edge).
 */
export type RoomLink =
  'in-meeting' | 'connecting' | 'link-failed' | 'agent-down-media-up' | 'offline' | 'no-report' | 'no-box';

export type Quality = 'good' | 'fair' | 'poor';

export interface RoomState {
  siteId: string;
  link: RoomLink;
  /** Camera and microphone reaching the room's edge. */
  sendingVideo: boolean;
  sendingAudio: boolean;
  /** The rest of the meeting reaching the room. */
  receiving: boolean;
  /** Its microphone is closed by the chair's mute-all. */
  mutedByChair: boolean;
  chair: boolean;
  floor: boolean;
  rollCall: boolean;
  speaking: boolean;
  /** From loss, jitter and round trip; null without figures. */
  quality: Quality | null;
}

/** Thresholds for a picture and voice that hold up (loss in 0..1, times in ms). */
export function quality(s: Pick<MeetingSiteStats, 'lossRate' | 'jitterMs' | 'rttMs'>): Quality | null {
  if (s.lossRate === null && s.jitterMs === null && s.rttMs === null) return null;
  const loss = s.lossRate ?? 0;
  const jitter = s.jitterMs ?? 0;
  const rtt = s.rttMs ?? 0;
  if (loss > 0.05 || jitter > 60 || rtt > 400) return 'poor';
  if (loss > 0.01 || jitter > 30 || rtt > 150) return 'fair';
  return 'good';
}

/** The speaker the edges agree on: the one most rooms report (the host's observer sends it down every link). */
export function currentSpeaker(stats: readonly MeetingSiteStats[]): string | null {
  const votes = new Map<string, number>();
  for (const s of stats)
    if (s.activeSpeakerSiteId) votes.set(s.activeSpeakerSiteId, (votes.get(s.activeSpeakerSiteId) ?? 0) + 1);
  let best: string | null = null;
  for (const [id, n] of votes) if (best === null || n > votes.get(best)!) best = id;
  return best;
}

export function roomLink(s: MeetingSiteStats | undefined, site: SiteState): RoomLink {
  const flowsUp = (s?.seenUpstream?.recvBps ?? 0) > 0;
  if (site === 'nobox' || site === 'revoked') return 'no-box';
  // The dashboard's own "media only" (the edge's presence without the agent's) says the same as the upstream's view.
  if (site === 'media-only') return 'agent-down-media-up';
  if (site === 'offline') return flowsUp ? 'agent-down-media-up' : 'offline';
  if (!s || s.edgeId === null) return 'no-box';
  if (s.at === null) return flowsUp ? 'in-meeting' : 'no-report';
  if (s.linkState === 'failed') return 'link-failed';
  if (s.linkState === 'connecting') return 'connecting';
  return 'in-meeting';
}

export function roomStates(d: MeetingDetail, siteStates: ReadonlyMap<string, SiteState>): RoomState[] {
  const stats = new Map(d.stats.map((s) => [s.siteId, s]));
  const speaker = currentSpeaker(d.stats);
  const sites = [...new Set([d.chairSiteId, ...d.siteIds])];
  return sites.map((siteId) => {
    const s = stats.get(siteId);
    const floor = d.floorSiteId === siteId;
    const chair = d.chairSiteId === siteId;
    const upstreamOnly = s?.at === null && (s?.seenUpstream?.recvBps ?? 0) > 0;
    return {
      siteId,
      link: roomLink(s, siteStates.get(siteId) ?? 'nobox'),
      sendingVideo: (s?.videoBps ?? 0) > 0 || upstreamOnly,
      sendingAudio: (s?.audioBps ?? 0) > 0,
      receiving: (s?.recvBps ?? 0) > 0,
      mutedByChair: (d.mutedAll ?? false) && !chair && !floor,
      chair,
      floor,
      rollCall: d.rollCallSiteId === siteId,
      // The last voice the edges heard stays "speaker" until another is heard: a closed microphone is not speaking.
      speaking: speaker === siteId && !((d.mutedAll ?? false) && !chair && !floor),
      quality: s && s.at !== null ? quality(s) : null,
    };
  });
}

/** Roll call order: the chair's roster as the console lists it, chair first; the next site after `current`, or null at the end. */
export function nextInRollCall(order: readonly string[], current: string | null, step: 1 | -1): string | null {
  if (order.length === 0) return null;
  if (current === null) return step === 1 ? order[0]! : order[order.length - 1]!;
  const i = order.indexOf(current);
  const j = i + step;
  return j < 0 || j >= order.length ? null : order[j]!;
}
