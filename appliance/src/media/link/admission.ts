// Which link offers an upstream edge accepts. The link token proves the
// offerer was given the meeting; the plan's `downstream` list says who it may
// be and where it is: the offer must come from, and ask for media to be sent
// to, an address the plan names for that downstream edge. Otherwise anyone
// holding a token could aim the meeting's media at any host and port.
import type { MediaDownstream, MediaMeeting } from '@diemcau/shared';
import { type AddressSet, addressKind, neverAllowed, resolveNamed, type Lookup } from '../addresses.js';

export type Admission = { ok: true; allowed: AddressSet } | { ok: false; reason: string; detail: string };

export interface OfferToCheck {
  edgeId: string;
  /** Where the offerer asks us to send RTP. */
  ip: string;
  port: number;
  /** The HTTP peer's address, as the socket reports it. */
  source: string | undefined;
}

/** Ports below 1024 are system services, never a media edge's RTP port. */
const MIN_RTP_PORT = 1024;

export async function admitLink(
  named: readonly MediaDownstream[] | undefined,
  offer: OfferToCheck,
  lookup?: Lookup,
): Promise<Admission> {
  const target = addressKind(offer.ip);
  if (neverAllowed(target))
    return { ok: false, reason: `link-target-${target}`, detail: `media cannot be sent to ${offer.ip} (${target})` };
  const entry = named?.find((d) => d.edgeId === offer.edgeId);
  if (!entry)
    return {
      ok: false,
      reason: 'link-edge-not-named',
      detail: `edge ${offer.edgeId} is not a downstream of this meeting in the plan`,
    };
  const allowed = await resolveNamed(entry.addresses, lookup);
  if (offer.source === undefined || !allowed.has(offer.source)) {
    return {
      ok: false,
      reason: 'link-source-not-named',
      detail: `the offer for ${offer.edgeId} comes from ${offer.source ?? 'an unknown address'}, not from an address the plan names`,
    };
  }
  if (!allowed.has(offer.ip)) {
    return target === 'loopback'
      ? {
          ok: false,
          reason: 'link-target-loopback-not-named',
          detail: `loopback ${offer.ip} is not named for ${offer.edgeId}`,
        }
      : { ok: false, reason: 'link-target-not-named', detail: `media for ${offer.edgeId} may not go to ${offer.ip}` };
  }
  const [min, max] = entry.rtpPorts ? [entry.rtpPorts.min, entry.rtpPorts.max] : [MIN_RTP_PORT, 65535];
  if (offer.port < min || offer.port > max) {
    return {
      ok: false,
      reason: 'link-target-port',
      detail: `port ${offer.port} is outside ${min}-${max} for ${offer.edgeId}`,
    };
  }
  return { ok: true, allowed };
}

/**
 * The other direction: the upstream's answer names where this edge sends its
 * room's media. Only to the upstream itself (the host of the signalling URL the
 * plan gives, resolved now), never to an address that stands for many or none.
 */
export async function admitAnswer(
  signalUrl: string,
  answer: { ip: string; port: number },
  lookup?: Lookup,
): Promise<Admission> {
  const target = addressKind(answer.ip);
  if (neverAllowed(target))
    return {
      ok: false,
      reason: `link-answer-target-${target}`,
      detail: `the upstream asks for media at ${answer.ip} (${target})`,
    };
  let host: string;
  try {
    host = new URL(signalUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return { ok: false, reason: 'link-answer-target-not-upstream', detail: `bad upstream URL ${signalUrl}` };
  }
  const allowed = await resolveNamed([host], lookup);
  if (!allowed.has(answer.ip)) {
    return {
      ok: false,
      reason: 'link-answer-target-not-upstream',
      detail: `the upstream at ${host} asks for media at ${answer.ip}, not at itself`,
    };
  }
  if (answer.port < MIN_RTP_PORT)
    return {
      ok: false,
      reason: 'link-answer-target-port',
      detail: `the upstream asks for media at port ${answer.port}`,
    };
  return { ok: true, allowed };
}

export type SiteAdmission = { ok: true } | { ok: false; reason: string; detail: string };

/**
 * Which site ids a peer edge may announce streams under. The selective
 * forwarding and the host's speaker observer act on a stream's site id, so a
 * peer that could name any site could pose as the chair (featured, its camera
 * sent everywhere) or as another commune.
 *
 * From a downstream edge: only the sites of its subtree, as the plan names
 * them (`siteIds`), or its own edge id (what a room with no site of its own
 * names its browsers' streams, peers.ts), and the browser participants of
 * those (`<site>.web<n>`). A plan without the list (a fleet
 * older than it) admits nothing: failing open would hand the meeting to any
 * commune's box, and an old fleet sends no `downstream` at all, which already
 * refuses every link, so no working mixed-version setup is lost.
 *
 * From the upstream: any site except ours and those below us. Every stream of
 * our own subtree reaches us from below or from our own room, never from above
 * (the forwarding rule never sends a stream back over the link it came in on),
 * so an upstream naming one of them is impersonating our own local room. The
 * upstream stays trusted for the rest of the meeting: it is the host's side of
 * the tree, closer to the chair, and it already decides the speakers.
 */
export function admitSite(
  meeting: MediaMeeting,
  ownEdgeId: string,
  peer: { edgeId: string; direction: 'up' | 'down' },
  siteId: string,
): SiteAdmission {
  // A browser participant's streams carry its site's id and its own number
  // (`<site>.web<n>`, peers.ts): admitted wherever its site would be.
  const site = /^([^.]+)\.web\d+$/.exec(siteId)?.[1] ?? siteId;
  if (peer.direction === 'down') {
    const entry = meeting.downstream?.find((d) => d.edgeId === peer.edgeId);
    if (!entry)
      return {
        ok: false,
        reason: 'link-site-edge-not-named',
        detail: `edge ${peer.edgeId} is not a downstream of meeting ${meeting.meetingId} in the plan`,
      };
    if (site === peer.edgeId) return { ok: true };
    if (entry.siteIds === undefined) {
      return {
        ok: false,
        reason: 'link-site-list-missing',
        detail: `the plan names no sites for ${peer.edgeId} (a fleet older than the site lists?): stream of ${siteId} refused`,
      };
    }
    if (!entry.siteIds.includes(site)) {
      return {
        ok: false,
        reason: 'link-site-not-below',
        detail: `${peer.edgeId} announced a stream of site ${siteId}, which is not behind it in the plan`,
      };
    }
    return { ok: true };
  }
  const own =
    site === ownEdgeId ||
    site === meeting.localSiteId ||
    (meeting.downstream ?? []).some((d) => d.edgeId === site || (d.siteIds?.includes(site) ?? false));
  if (own)
    return {
      ok: false,
      reason: 'link-site-own-subtree',
      detail: `upstream ${peer.edgeId} announced a stream of site ${siteId}, which is this edge's own or below it`,
    };
  return { ok: true };
}
