// Selective forwarding, as pure decisions. A 210-site meeting cannot send every
// camera to every site: 209 Full HD pictures down a commune's line, and about
// 19 Gbit/s out of the core. So every edge applies the same rule to every link:
//
// - audio always crosses (the chair's controls pause the microphones that
//   must stay quiet at their source, so a closed microphone costs nothing),
//   which also lets the host hear everyone and pick the active speaker;
// - video crosses only for the featured sites: the chair, the floor, the site
//   in roll call and the most recent speakers. Every other camera is announced
//   (each edge knows the whole roster) but held back, paused at the edge that
//   would send it, so it does not touch the network.
//
// The featured set is the same on every edge: the chair's controls arrive in
// every edge's plan, and the speakers come from the host (the root of the
// cascade, which receives every microphone) down the links.
import type { MediaMeeting } from '@diemcau/shared';

/** How many recent speakers are featured besides the chair, the floor and the roll call. */
export const RECENT_SPEAKERS = 2;

/** Sites whose cameras cross the links now. */
export function featuredSites(
  m: Pick<MediaMeeting, 'chairSiteId' | 'floorSiteId' | 'floorParticipantId' | 'rollCallSiteId'>,
  speakers: readonly string[],
): Set<string> {
  const out = new Set<string>([m.chairSiteId]);
  if (m.floorSiteId !== null) out.add(m.floorSiteId);
  // A browser participant given the floor with its site (it asked from the join page).
  if (m.floorParticipantId) out.add(m.floorParticipantId);
  if (m.rollCallSiteId !== null) out.add(m.rollCallSiteId);
  for (const s of speakers.slice(0, RECENT_SPEAKERS)) out.add(s);
  return out;
}

/** Whether a stream of this kind from this site crosses a link now. */
export function forwards(kind: 'audio' | 'video', siteId: string, featured: ReadonlySet<string>): boolean {
  return kind === 'audio' || featured.has(siteId);
}

/** The speakers list after `siteId` took over (most recent first, no repeats); the same list when nothing changed. */
export function nextSpeakers(list: readonly string[], siteId: string, keep = RECENT_SPEAKERS): readonly string[] {
  if (list[0] === siteId) return list;
  return [siteId, ...list.filter((s) => s !== siteId)].slice(0, keep);
}
