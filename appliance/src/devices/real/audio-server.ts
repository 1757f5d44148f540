import type { MicrophoneDevice } from '../types.js';

// The box's audio server as the microphone check sees it. On the image,
// PipeWire (diemcau-audio.service) opens the sound card for the echo
// canceller; while it records (the media edge in a meeting) the card's
// capture device is busy to anyone else, and a check that opens it directly
// can only say "in use". The check records the same microphone through the
// server instead (PipeWire's ALSA plugin), as the edge does. Pure parsing
// here; the caller runs pw-dump.

/** One node of a `pw-dump`: its name and properties. */
export interface PipewireNode {
  name: string;
  props: Record<string, unknown>;
}

/** The nodes of a `pw-dump` (JSON); anything else yields none. */
export function pipewireNodes(dump: string): PipewireNode[] {
  let objects: unknown;
  try {
    objects = JSON.parse(dump);
  } catch {
    return [];
  }
  if (!Array.isArray(objects)) return [];
  const nodes: PipewireNode[] = [];
  for (const o of objects as unknown[]) {
    if (typeof o !== 'object' || o === null) continue;
    const obj = o as { type?: unknown; info?: { props?: unknown } };
    const props = obj.info?.props;
    if (obj.type !== 'PipeWire:Interface:Node' || typeof props !== 'object' || props === null) continue;
    const name = (props as Record<string, unknown>)['node.name'];
    if (typeof name === 'string') nodes.push({ name, props: props as Record<string, unknown> });
  }
  return nodes;
}

/** A property that holds a small integer, as a number or a numeric string. */
const integer = (v: unknown): number | null => {
  const n = typeof v === 'string' && /^\d{1,4}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
};

/** Card and device of an ALSA name `hw:C,D` (or `plughw:`); null for anything else. */
export function alsaCardDevice(id: string): { card: number; device: number } | null {
  const m = /^(?:plug)?hw:(\d+)(?:,(\d+))?$/.exec(id);
  return m ? { card: Number(m[1]), device: Number(m[2] ?? 0) } : null;
}

/**
 * The server's source node for the ALSA capture device `hw:C,D`: a node of
 * class Audio/Source opened on that card (`alsa.card`, or `api.alsa.pcm.card`)
 * and, when the node says, that device. Null when the server does not have it.
 */
export function sourceForDevice(nodes: PipewireNode[], device: MicrophoneDevice): string | null {
  const want = alsaCardDevice(device.id);
  if (!want) return null;
  for (const n of nodes) {
    if (n.props['media.class'] !== 'Audio/Source') continue;
    const card = integer(n.props['alsa.card'] ?? n.props['api.alsa.pcm.card']);
    const dev = integer(n.props['alsa.device']);
    if (card === want.card && (dev === null || dev === want.device)) return n.name;
  }
  return null;
}

/** PipeWire's ALSA plugin (pipewire-alsa) opening one node of one server. */
export const pipewirePcm = (remote: string, node: string): string => `pipewire:SERVER=${remote},NODE=${node}`;
