// Selective forwarding, as pure decisions. A 210-site meeting cannot send every
// camera to every site: 209 Full HD pictures down a commune's line, and about
// 19 Gbit/s out of the core. Nor can every edge hold the whole roster as
// streams: 210 sites x 2 streams announced at each of 210 edges is about
// 88,000 producers, almost all paused, and their link messages alone stall an
// edge. So a link carries only what someone beyond it receives (flows()):
//
// - down a link (towards the leaves): the featured sites' microphones and
//   cameras: the chair, the floor, the site in roll call and the most recent
//   speakers. That is what every TV shows, large or as a thumbnail;
// - up a link (towards the host): the featured cameras, which the host sends
//   on to everyone, and every open microphone, so that the host hears everyone
//   and picks the speaker. A closed microphone (paused at its source by the
//   chair's controls) and a camera nobody shows do not cross at all.
//
// A stream starts to cross when it is first wanted (link/bridge.ts announces
// it then), is paused at the sending edge when it stops being wanted, and is
// closed there after a grace period, so that a speaker who comes back soon
// finds the way open. Who is in the meeting travels separately, as a small
// roster (roster.ts), not as streams.
//
// A few rooms are warm (warmSites()): heard lately at the host but not
// featured, the likely next speakers. Their streams are announced on every
// link and held back there (paused: nothing flows), and not closed while they
// stay warm, so that naming one of them only resumes its streams hop by hop.
// Announcing a stream anew takes a message and a consume at every hop (about
// half a second over three links on a loaded machine); resuming one takes the
// message alone.
//
// The featured set is the same on every edge: the chair's controls arrive in
// every edge's plan, and the speakers come from the host (the root of the
// cascade, which receives every open microphone) down the links.
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

/** How long a room heard at the host stays warm (its streams announced, held back, on every link). */
export const WARM_FOR_MS = 30_000;
/** Warm rooms at most: each holds its three streams announced on every link, none of them flowing. */
export const MAX_WARM = 2;

/**
 * The warm rooms: heard at the host within `forMs` (`heardAt`: site -> when
 * its microphone was last heard) and not featured, the most recently heard
 * first, at most `max`; and when the first of them stops being warm (null:
 * none is). A room starting to speak is warm from the first level report that
 * hears it, before the gate names it (two reports in a row); one that spoke a
 * little while ago stays warm, so its streams are still announced when it
 * speaks again.
 */
export function warmSites(
  heardAt: ReadonlyMap<string, number>,
  featured: ReadonlySet<string>,
  now: number,
  forMs = WARM_FOR_MS,
  max = MAX_WARM,
): { sites: string[]; wakeAt: number | null } {
  const warm = [...heardAt]
    .filter(([site, at]) => !featured.has(site) && now - at <= forMs)
    .sort((a, b) => b[1] - a[1])
    .slice(0, max);
  const last = warm[warm.length - 1];
  return { sites: warm.map(([site]) => site), wakeAt: last ? last[1] + forMs : null };
}

/** Which way a link carries a stream: 'up' towards the host, 'down' towards the leaves. */
export type LinkDirection = 'up' | 'down';

/**
 * Whether a stream crosses a link in this direction now. `paused`: the stream
 * is paused where this edge has it (a closed microphone, or held back below).
 */
export function flows(
  s: { kind: 'audio' | 'video'; siteId: string; paused: boolean },
  direction: LinkDirection,
  featured: ReadonlySet<string>,
): boolean {
  if (featured.has(s.siteId)) return true;
  return direction === 'up' && s.kind === 'audio' && !s.paused;
}

/** The speakers list after `siteId` took over (most recent first, no repeats); the same list when nothing changed. */
export function nextSpeakers(list: readonly string[], siteId: string, keep = RECENT_SPEAKERS): readonly string[] {
  if (list[0] === siteId) return list;
  return [siteId, ...list.filter((s) => s !== siteId)].slice(0, keep);
}
