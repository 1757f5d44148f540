// What the TV in a room shows (the kiosk page): pure, from the meeting's chair
// controls and the active speaker. A roll call shows one site to everyone;
// otherwise the chair and whoever speaks (the floor when given) are large and
// the rest are thumbnails. A room never sees itself.
export interface LayoutInput {
  localSiteId: string | null;
  chairSiteId: string;
  floorSiteId: string | null;
  rollCallSiteId: string | null;
  activeSpeakerSiteId: string | null;
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
    const speaker = i.floorSiteId ?? i.activeSpeakerSiteId;
    large = [...new Set([i.chairSiteId, speaker])].filter((s): s is string => s !== null && present.has(s));
    if (large.length === 0 && others.length > 0) large = [others[0]!];
  }
  return { large, small: others.filter((s) => !large.includes(s)), self: i.localSiteId };
}
