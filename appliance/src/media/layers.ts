// Which layer of a room's picture goes where, as pure decisions. A room sends
// its camera twice (capture/gst-args.ts): the full picture, and a small one
// (320x180 at about 150 kbit/s for a 1080p camera) for thumbnails. The two are
// separate streams (producers) rather than one simulcast producer because a
// cascade link (a mediasoup pipe consumer) forwards every encoding of a
// producer: only separate streams let a link carry the small picture alone,
// with the same hold-back machinery as the rest of selective forwarding, and
// each layer keeps its own keyframe path (its own transport and RTCP relay).
//
// forwarding.ts decides whose camera crosses at all (the featured sites);
// this file decides which of its layers:
// - per link: the layers the TVs behind the link will show, each TV laid out
//   as layout.ts lays it out; a link whose viewers are unknown (the upstream
//   link) carries both;
// - per receiver (a browser on this edge): the TV's large pictures get the
//   full layer, its thumbnails and a laptop's grid the small one; a site that
//   sends one layer only (the ffmpeg sender, a browser) is shown with it.
import type { MediaMeeting } from '@diemcau/shared';
import { kioskLayout, type Layout } from './layout.js';

export type Layer = 'full' | 'small';

/** How a browser lays the meeting out: the TV's stage and strip, or a laptop's grid of equal tiles. */
export type View = 'kiosk' | 'grid';

/** A stream's layer from its info (streams without one are the full picture). */
export const layerOf = (info: { layer?: Layer }): Layer => info.layer ?? 'full';

/** Per site, the layers a link must carry. */
export interface LinkNeeds {
  full: ReadonlySet<string>;
  small: ReadonlySet<string>;
}

type Controls = Pick<MediaMeeting, 'chairSiteId' | 'floorSiteId' | 'rollCallSiteId'>;

/**
 * The layers the TVs of `viewers` (the sites behind a link) show of the
 * featured sites; `viewers` null (unknown, the upstream link): both layers of
 * every featured site. Layouts are computed as if every featured camera were
 * present: a camera that is missing somewhere costs nothing on the link.
 */
export function linkNeeds(
  m: Controls,
  speakers: readonly string[],
  featured: ReadonlySet<string>,
  viewers: readonly string[] | null,
): LinkNeeds {
  if (viewers === null) return { full: featured, small: featured };
  const full = new Set<string>();
  const small = new Set<string>();
  const videoSites = [...featured];
  for (const v of viewers) {
    const l = kioskLayout({ ...m, localSiteId: v, speakers, videoSites });
    for (const s of l.large) full.add(s);
    for (const s of l.small) small.add(s);
  }
  return { full, small };
}

/**
 * Whether one layer of one site's camera crosses a link with these needs. A
 * site that sends no small picture (`hasSmall` false: the ffmpeg sender, a
 * browser) is sent in full where a thumbnail of it is needed.
 */
export function linkCarries(needs: LinkNeeds, siteId: string, layer: Layer, hasSmall: boolean): boolean {
  if (layer === 'small') return needs.small.has(siteId);
  return needs.full.has(siteId) || (!hasSmall && needs.small.has(siteId));
}

/**
 * The layer a receiver shows of a site: full for a TV's large picture, small
 * for a thumbnail or a grid tile; the other one when the wanted one is not
 * here (not sent by that site, or held back upstream).
 */
export function receiverLayer(
  view: View,
  layout: Pick<Layout, 'large'>,
  siteId: string,
  available: ReadonlySet<Layer>,
): Layer | null {
  const want: Layer = view === 'kiosk' && layout.large.includes(siteId) ? 'full' : 'small';
  if (available.has(want)) return want;
  const other: Layer = want === 'full' ? 'small' : 'full';
  return available.has(other) ? other : null;
}

/**
 * Per site, the video stream a receiver should get now, of the streams
 * offered (those flowing into this edge): the rest are held back for it.
 */
export function receiverPicks(
  view: View,
  layout: Pick<Layout, 'large'>,
  streams: ReadonlyArray<{ id: string; siteId: string; layer: Layer; paused: boolean }>,
): Map<string, string> {
  const bySite = new Map<string, Map<Layer, string>>();
  for (const s of streams) {
    if (s.paused) continue;
    const m = bySite.get(s.siteId) ?? new Map<Layer, string>();
    m.set(s.layer, s.id);
    bySite.set(s.siteId, m);
  }
  const out = new Map<string, string>();
  for (const [siteId, layers] of bySite) {
    const l = receiverLayer(view, layout, siteId, new Set(layers.keys()));
    if (l) out.set(siteId, layers.get(l)!);
  }
  return out;
}
