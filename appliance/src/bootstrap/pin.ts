// The fleet pinned in the image against what a stick (or /boot) says. A
// bootstrap on removable media is whatever the person holding the box wrote;
// the image is what the province built. So a pin, when the image has one,
// decides: a bootstrap naming another fleet, plain HTTP under a pinned CA, or
// another CA is refused, and the CA the box trusts is the pinned one.
import fs from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { fleetPinCodec, type Bootstrap, type FleetPin } from '@diemcau/shared';

export type PinLoad = { kind: 'none' } | { kind: 'pin'; pin: FleetPin } | { kind: 'broken'; reason: string };

/** Reads the pin; a missing file is a generic image, anything unusable is 'broken' (and refuses everything). */
export async function loadPin(file: string | null): Promise<PinLoad> {
  if (!file) return { kind: 'none' };
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'broken', reason: `the pin is unreadable: ${(err as Error).message}` };
  }
  const r = fleetPinCodec.decode(text);
  if (!r.ok) return { kind: 'broken', reason: `the pin is invalid: ${r.error.message}` };
  if (!r.value.fleetUrls && !r.value.caCert)
    return { kind: 'broken', reason: 'the pin is invalid: it names neither a fleet nor a CA' };
  if (r.value.caCert && fingerprints(r.value.caCert) === null)
    return { kind: 'broken', reason: 'the pin is invalid: its CA is not a PEM certificate' };
  for (const u of r.value.fleetUrls ?? [])
    if (origin(u) === null) return { kind: 'broken', reason: `the pin is invalid: ${u} is not a URL` };
  return { kind: 'pin', pin: r.value };
}

/** scheme://host:port, lower case, default ports dropped (what a TLS or HTTP client actually reaches). */
function origin(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** SHA-256 fingerprints of every certificate in a PEM bundle; null when one does not parse. */
function fingerprints(pem: string): Set<string> | null {
  const blocks = pem.replace(/\r\n/g, '\n').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return null;
  try {
    return new Set(blocks.map((b) => new X509Certificate(b).fingerprint256));
  } catch {
    return null;
  }
}

/**
 * The bootstrap as the box will use it under the pin (the pinned CA put in),
 * or why it is refused.
 */
export function applyPin(
  b: Bootstrap,
  pin: FleetPin,
): { ok: true; bootstrap: Bootstrap } | { ok: false; reason: string } {
  const at = origin(b.fleetUrl);
  if (at === null) return { ok: false, reason: `${b.fleetUrl} is not a URL` };
  if (pin.fleetUrls && !pin.fleetUrls.some((u) => origin(u) === at)) {
    return {
      ok: false,
      reason: `${at} is not the fleet pinned in the image (${pin.fleetUrls.map((u) => origin(u)).join(', ')})`,
    };
  }
  if (!pin.caCert) return { ok: true, bootstrap: b };
  if (!at.startsWith('https:'))
    return { ok: false, reason: `${at} is plain HTTP; the image pins a CA, so only HTTPS is accepted` };
  if (b.caCert !== undefined) {
    const theirs = fingerprints(b.caCert);
    const ours = fingerprints(pin.caCert)!;
    if (theirs === null || [...theirs].some((f) => !ours.has(f)))
      return { ok: false, reason: 'its CA is not the CA pinned in the image' };
  }
  return { ok: true, bootstrap: { ...b, caCert: pin.caCert } };
}
