import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConnectorStatus } from '@diemcau/shared';
import type { CameraDevice, MicrophoneDevice } from '../types.js';

// What the kernel says is plugged in, read from sysfs and procfs under roots
// that tests (and unusual hosts) override. A missing directory means "none",
// never an error: a box with no camera is a finding, not a crash.

export interface ScanRoots {
  /** Where sysfs is mounted; /sys on a box. */
  sys: string;
  /** Where procfs is mounted; /proc on a box. */
  proc: string;
  /** Where device nodes live; /dev on a box. */
  dev: string;
}

export const DEFAULT_ROOTS: ScanRoots = { sys: '/sys', proc: '/proc', dev: '/dev' };

async function readText(file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return null;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort(naturalOrder);
  } catch {
    return [];
  }
}

const naturalOrder = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

// Memory-to-memory codecs and ISPs register V4L2 nodes too (a Raspberry Pi has
// a dozen with no camera attached); without filtering them, an unplugged
// camera would never be reported missing. sysfs does not expose a node's
// capabilities, so they are recognised by driver name.
const NOT_A_CAMERA = /bcm2835-(codec|isp)|rpivid|pispbe|hantro|rkvdec|rkvenc|cedrus|mem2mem|m2m|-dec$|-enc$/i;

/**
 * V4L2 capture nodes. A UVC camera registers two nodes, the picture (index 0)
 * and its metadata (index 1); only the first can be captured from.
 */
export async function scanV4l2(roots: ScanRoots): Promise<CameraDevice[]> {
  const base = path.join(roots.sys, 'class', 'video4linux');
  const out: CameraDevice[] = [];
  for (const entry of await listDir(base)) {
    if (!/^video\d+$/.test(entry)) continue;
    const index = await readText(path.join(base, entry, 'index'));
    if (index !== null && index !== '0') continue;
    const name = (await readText(path.join(base, entry, 'name'))) ?? entry;
    if (NOT_A_CAMERA.test(name)) continue;
    out.push({ node: path.join(roots.dev, entry), name });
  }
  return out;
}

export interface AsoundCard {
  driver: string;
  name: string;
}

/** Cards by number, from /proc/asound/cards ("  1 [Device  ]: USB-Audio - USB PnP Sound Device"). */
export function parseAsoundCards(text: string): Map<number, AsoundCard> {
  const cards = new Map<number, AsoundCard>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+\[[^\]]*\]:\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, num, rest] = m as unknown as [string, string, string];
    // "driver - long name": the long name is what a technician recognises.
    const dash = rest.indexOf(' - ');
    cards.set(
      Number(num),
      dash === -1 ? { driver: '', name: rest } : { driver: rest.slice(0, dash), name: rest.slice(dash + 3) },
    );
  }
  return cards;
}

/**
 * Capture PCMs from /proc/asound/pcm ("01-00: USB Audio : USB Audio : capture 1"),
 * USB devices first: a mini-PC's onboard input jack always shows up as a
 * capture device, but the room microphone is the USB one (or the camera's).
 */
export function parseAsoundPcm(text: string, cards: Map<number, AsoundCard>): MicrophoneDevice[] {
  const usb: MicrophoneDevice[] = [];
  const other: MicrophoneDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)-(\d+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, card, device, rest] = m as unknown as [string, string, string, string];
    const fields = rest.split(' : ').map((f) => f.trim());
    if (!fields.some((f) => /^capture\s+\d+$/.test(f))) continue;
    const c = Number(card);
    const pcmName = fields[0] || `device ${Number(device)}`;
    const info = cards.get(c);
    const dev = { id: `hw:${c},${Number(device)}`, name: info ? `${info.name}: ${pcmName}` : pcmName };
    (info?.driver === 'USB-Audio' ? usb : other).push(dev);
  }
  return [...usb, ...other];
}

export async function scanAlsa(roots: ScanRoots): Promise<MicrophoneDevice[]> {
  const base = path.join(roots.proc, 'asound');
  const pcm = await readText(path.join(base, 'pcm'));
  if (pcm === null) return [];
  const cards = parseAsoundCards((await readText(path.join(base, 'cards'))) ?? '');
  return parseAsoundPcm(pcm, cards);
}

export interface DrmConnector {
  /** e.g. card0-HDMI-A-1 */
  name: string;
  status: ConnectorStatus;
  enabled: boolean | null;
  /** The first mode the TV lists is its preferred one. */
  mode: string | null;
}

// HDMI is what TVs take; DP and DVI are listed too because mini-PCs often
// route their HDMI socket through a DP connector.
const CONNECTOR = /^card\d+-(HDMI-A|DP|DVI-[DIA])-\d+$/;

export function parseConnector(
  name: string,
  status: string | null,
  enabled: string | null,
  modes: string | null,
): DrmConnector {
  const s = status === 'connected' || status === 'disconnected' ? status : 'unknown';
  const e = enabled === 'enabled' ? true : enabled === 'disabled' ? false : null;
  const first = (modes ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return { name, status: s, enabled: e, mode: first ?? null };
}

export async function scanDrm(roots: ScanRoots): Promise<DrmConnector[]> {
  const base = path.join(roots.sys, 'class', 'drm');
  const out: DrmConnector[] = [];
  for (const entry of await listDir(base)) {
    if (!CONNECTOR.test(entry)) continue;
    const dir = path.join(base, entry);
    const [status, enabled, modes] = await Promise.all([
      readText(path.join(dir, 'status')),
      readText(path.join(dir, 'enabled')),
      readText(path.join(dir, 'modes')),
    ]);
    out.push(parseConnector(entry, status, enabled, modes));
  }
  return out;
}
