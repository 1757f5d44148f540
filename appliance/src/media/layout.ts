// What the TV in a room shows (the kiosk page): pure, from the meeting's chair
// controls and its recent speakers. A roll call shows one site to everyone;
// otherwise the chair, the floor (when given) and the recent speakers are
// large, at most four, and the rest are thumbnails. A room never sees itself.
import type { MediaMeeting } from '@diemcau/shared';

/** The page lays out one to four large pictures without running off screen (join.js). */
export const MAX_LARGE = 4;

export interface LayoutInput {
  localSiteId: string | null;
  chairSiteId: string;
  floorSiteId: string | null;
  /** A browser participant holding the floor with its site; large beside it. */
  floorParticipantId?: string | null;
  rollCallSiteId: string | null;
  /** The meeting's recent speakers, most recent first (forwarding.ts). */
  speakers: readonly string[];
  /** Sites with a video stream in the room, in arrival order. */
  videoSites: string[];
}

export interface Layout {
  large: string[];
  small: string[];
  /** The room's own site: its TV neither shows nor plays it (no echo). */
  self: string | null;
}

export function kioskLayout(i: LayoutInput): Layout {
  const others = [...new Set(i.videoSites)].filter((s) => s !== i.localSiteId);
  const present = new Set(others);
  let large: string[];
  if (i.rollCallSiteId !== null && present.has(i.rollCallSiteId)) large = [i.rollCallSiteId];
  else {
    large = [...new Set([i.chairSiteId, i.floorSiteId, i.floorParticipantId ?? null, ...i.speakers])]
      .filter((s): s is string => s !== null && present.has(s))
      .slice(0, MAX_LARGE);
    if (large.length === 0 && others.length > 0) large = [others[0]!];
  }
  return { large, small: others.filter((s) => !large.includes(s)), self: i.localSiteId };
}

/** The layout with what the TV writes on it: the meeting's title, names, who speaks and what the chair decided. */
export interface KioskView extends Layout {
  title: string;
  chairSiteId: string;
  floorSiteId: string | null;
  /** The browser participant holding the floor with its site, if any. */
  floorParticipantId: string | null;
  rollCallSiteId: string | null;
  mutedAll: boolean;
  /** The site speaking now, when it is another room (this room's TV does not mark itself). */
  speakerSiteId: string | null;
  /** Captions: every site's name the plan gave (absent ones show as ids). */
  names: Record<string, string>;
}

export function kioskView(m: MediaMeeting, speakers: readonly string[], videoSites: string[]): KioskView {
  const layout = kioskLayout({
    localSiteId: m.localSiteId,
    chairSiteId: m.chairSiteId,
    floorSiteId: m.floorSiteId,
    floorParticipantId: m.floorParticipantId ?? null,
    rollCallSiteId: m.rollCallSiteId,
    speakers,
    videoSites,
  });
  const speaker = speakers[0] ?? null;
  const names = { ...(m.siteNames ?? {}) };
  // A browser participant is captioned as its site's guest.
  const guest = m.floorParticipantId ?? null;
  const host = guest === null ? undefined : guest.slice(0, guest.lastIndexOf('.'));
  if (guest !== null && host) names[guest] = `${names[host] ?? host} (trình duyệt)`;
  return {
    ...layout,
    title: m.title,
    chairSiteId: m.chairSiteId,
    floorSiteId: m.floorSiteId,
    floorParticipantId: guest,
    rollCallSiteId: m.rollCallSiteId,
    mutedAll: m.mutedAll,
    speakerSiteId: speaker !== null && speaker !== m.localSiteId ? speaker : null,
    names,
  };
}
