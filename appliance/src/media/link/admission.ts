// Which link offers an upstream edge accepts. The link token proves the
// offerer was given the meeting; the plan's `downstream` list says who it may
// be and where it is: the offer must come from, and ask for media to be sent
// to, an address the plan names for that downstream edge. Otherwise anyone
// holding a token could aim the meeting's media at any host and port.
import type { MediaDownstream } from '@diemcau/shared';
import { type AddressSet, addressKind, neverAllowed, resolveNamed, type Lookup } from '../addresses.js';

export type Admission =
  | { ok: true; allowed: AddressSet }
  | { ok: false; reason: string; detail: string };

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

export async function admitLink(named: readonly MediaDownstream[] | undefined, offer: OfferToCheck, lookup?: Lookup): Promise<Admission> {
  const target = addressKind(offer.ip);
  if (neverAllowed(target)) return { ok: false, reason: `link-target-${target}`, detail: `media cannot be sent to ${offer.ip} (${target})` };
  const entry = named?.find((d) => d.edgeId === offer.edgeId);
  if (!entry) return { ok: false, reason: 'link-edge-not-named', detail: `edge ${offer.edgeId} is not a downstream of this meeting in the plan` };
  const allowed = await resolveNamed(entry.addresses, lookup);
  if (offer.source === undefined || !allowed.has(offer.source)) {
    return { ok: false, reason: 'link-source-not-named', detail: `the offer for ${offer.edgeId} comes from ${offer.source ?? 'an unknown address'}, not from an address the plan names` };
  }
  if (!allowed.has(offer.ip)) {
    return target === 'loopback'
      ? { ok: false, reason: 'link-target-loopback-not-named', detail: `loopback ${offer.ip} is not named for ${offer.edgeId}` }
      : { ok: false, reason: 'link-target-not-named', detail: `media for ${offer.edgeId} may not go to ${offer.ip}` };
  }
  const [min, max] = entry.rtpPorts ? [entry.rtpPorts.min, entry.rtpPorts.max] : [MIN_RTP_PORT, 65535];
  if (offer.port < min || offer.port > max) {
    return { ok: false, reason: 'link-target-port', detail: `port ${offer.port} is outside ${min}-${max} for ${offer.edgeId}` };
  }
  return { ok: true, allowed };
}

/**
 * The other direction: the upstream's answer names where this edge sends its
 * room's media. Only to the upstream itself (the host of the signalling URL the
 * plan gives, resolved now), never to an address that stands for many or none.
 */
export async function admitAnswer(signalUrl: string, answer: { ip: string; port: number }, lookup?: Lookup): Promise<Admission> {
  const target = addressKind(answer.ip);
  if (neverAllowed(target)) return { ok: false, reason: `link-answer-target-${target}`, detail: `the upstream asks for media at ${answer.ip} (${target})` };
  let host: string;
  try {
    host = new URL(signalUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return { ok: false, reason: 'link-answer-target-not-upstream', detail: `bad upstream URL ${signalUrl}` };
  }
  const allowed = await resolveNamed([host], lookup);
  if (!allowed.has(answer.ip)) {
    return { ok: false, reason: 'link-answer-target-not-upstream', detail: `the upstream at ${host} asks for media at ${answer.ip}, not at itself` };
  }
  if (answer.port < MIN_RTP_PORT) return { ok: false, reason: 'link-answer-target-port', detail: `the upstream asks for media at port ${answer.port}` };
  return { ok: true, allowed };
}
