// The sounds of the simulated room and how the echo is measured in them: pure
// functions over sample buffers, deterministic (every run hears the same room).
// The far end's voice is played on the TV and comes back through the room into
// the microphone; the room's own voice is spoken into the microphone. Each is
// recorded as one two-channel stream: the microphone as it hears the room, and
// what the room sends (the canceller's output). One stream keeps the two in
// step even when a loaded machine delays the audio graph, so figures compare
// the same stretch of sound.
import fs from 'node:fs';

export const RATE = 48_000;

/** Seconds of each voice. */
export const FAR_SECONDS = 8;
export const NEAR_SECONDS = 3;
/** The share of the far end's stretch left to the canceller to converge before it is measured. */
export const CONVERGE_SHARE = 0.4;

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Something like a voice: a pitch that wanders around f0, ten harmonics with a
 * falling spectrum, breath noise, syllables about four times a second, each
 * louder or softer than the last; a quarter second of silence before and after.
 */
export function voice(f0: number, seed: number, seconds: number): Float32Array {
  const rnd = prng(seed);
  const pad = Math.round(RATE / 4);
  const out = new Float32Array(Math.round(seconds * RATE) + 2 * pad);
  let phase = 0;
  for (let i = 0; i < out.length - 2 * pad; i++) {
    const t = i / RATE;
    const pitch = f0 * (1 + 0.08 * Math.sin(2 * Math.PI * 0.7 * t) + 0.03 * Math.sin(2 * Math.PI * 3.1 * t));
    phase += (2 * Math.PI * pitch) / RATE;
    let s = 0;
    for (let h = 1; h <= 10; h++) s += Math.sin(h * phase) / h;
    const syllable = 0.1 + 0.9 * Math.pow(Math.abs(Math.sin(2 * Math.PI * 2.1 * t + seed)), 2);
    const stress = 0.7 + 0.3 * Math.sin(2 * Math.PI * 0.37 * t + seed);
    out[pad + i] = 0.2 * stress * syllable * (s + 0.3 * (rnd() * 2 - 1));
  }
  return out;
}

/** The far end (played on the TV) and the room's own voice. */
export const farVoice = (): Float32Array => voice(190, 1, FAR_SECONDS);
export const nearVoice = (): Float32Array => voice(120, 2, NEAR_SECONDS);

/** The room as the microphone hears the loudspeaker: a direct path, then reflections decaying to -60 dB in `rt60` seconds. */
export interface RoomModel {
  /** Loudspeaker to microphone, plus the player's buffers (seconds). */
  delay: number;
  /** Gain of the direct path (the distance). */
  direct: number;
  rt60: number;
  seed: number;
}
export const ROOM: RoomModel = { delay: 0.04, direct: 0.4, rt60: 0.4, seed: 3 };

/** Exponentially decaying noise after a direct path: the impulse response the room's convolver applies. */
export function impulseResponse(room: RoomModel): Float32Array {
  const rnd = prng(room.seed);
  const ir = new Float32Array(Math.round(RATE * room.rt60));
  ir[0] = room.direct;
  // 6.9 = ln(1000): the amplitude falls by 60 dB over rt60.
  for (let i = 1; i < ir.length; i++) ir[i] = 0.08 * Math.exp((-6.9 * i) / ir.length) * (rnd() * 2 - 1);
  return ir;
}

/** 16-bit PCM WAV, one channel per array. */
export function writeWav(file: string, channels: Float32Array[]): void {
  const n = channels[0]!.length;
  const c = channels.length;
  const data = Buffer.alloc(n * c * 2);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++) {
      const v = Math.max(-32768, Math.min(32767, Math.round(channels[k]![i]! * 32767)));
      data.writeInt16LE(v, (i * c + k) * 2);
    }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(c, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2 * c, 28);
  h.writeUInt16LE(2 * c, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([h, data]));
}

/** The first channel of a 16-bit PCM WAV (as ffmpeg writes it: chunks walked, not assumed). */
export function readWav(file: string): Float32Array {
  const b = fs.readFileSync(file);
  let at = 12;
  let channels = 1;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') channels = b.readUInt16LE(at + 10);
    if (id === 'data') {
      const n = Math.floor(Math.min(size, b.length - at - 8) / 2 / channels);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(at + 8 + i * channels * 2) / 32768;
      return out;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** 16-bit PCM WAV, both channels of a two-channel file. */
export function readStereoWav(file: string): [Float32Array, Float32Array] {
  const b = fs.readFileSync(file);
  let at = 12;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ' && b.readUInt16LE(at + 10) !== 2) throw new Error(`${file}: not two channels`);
    if (id === 'data') {
      const n = Math.floor(Math.min(size, b.length - at - 8) / 4);
      const l = new Float32Array(n);
      const r = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        l[i] = b.readInt16LE(at + 8 + i * 4) / 32768;
        r[i] = b.readInt16LE(at + 10 + i * 4) / 32768;
      }
      return [l, r];
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

const BLOCK = RATE / 100;

/** Where the microphone heard something: the first and last 10 ms above -50 dBFS (sample indices), or null. */
export function activeSpan(x: Float32Array): [number, number] | null {
  let first = -1;
  let last = -1;
  for (let s = 0; s + BLOCK <= x.length; s += BLOCK) {
    let e = 0;
    for (let i = s; i < s + BLOCK; i++) e += x[i]! * x[i]!;
    if (e / BLOCK > 1e-5) {
      if (first < 0) first = s;
      last = s + BLOCK;
    }
  }
  return first < 0 ? null : [first, last];
}

const energy = (x: Float32Array, a: number, b: number): number => {
  let s = 0;
  for (let i = a; i < b; i++) s += x[i]! * x[i]!;
  return s;
};
const db = (ratio: number): number => 10 * Math.log10(ratio);

export interface EchoFigures {
  /** How much lower the far end is in what the room sends than in the microphone, while the canceller converges (dB). */
  convergingDb: number;
  /** The same once it has converged (dB): the figure the issue asks 20 dB of. */
  farDb: number;
  /** The room's own voice: what is sent against what the microphone heard (dB; 0 = kept). */
  nearDb: number;
  /** Seconds of sound the microphone heard in each run (far end, room). */
  heard: { far: number; near: number };
}

/**
 * Figures from the two runs (microphone and sent, in step): the far end alone,
 * then the room alone. The stretch the microphone heard sound in is measured;
 * the first CONVERGE_SHARE of the far end's is the canceller's to converge in.
 */
export function echoFigures(far: [Float32Array, Float32Array], near: [Float32Array, Float32Array]): EchoFigures {
  const fs_ = activeSpan(far[0]);
  const ns = activeSpan(near[0]);
  if (!fs_ || !ns) throw new Error(`the microphone heard nothing (far end: ${fs_ !== null}, room: ${ns !== null})`);
  const split = Math.round(fs_[0] + (fs_[1] - fs_[0]) * CONVERGE_SHARE);
  // The canceller adds a few milliseconds of its own: the sent channel's stretch runs a little longer.
  const tail = Math.min(RATE / 10, far[1].length - fs_[1]);
  const ntail = Math.min(RATE / 10, near[1].length - ns[1]);
  return {
    convergingDb: db(energy(far[0], fs_[0], split) / energy(far[1], fs_[0], split)),
    farDb: db(energy(far[0], split, fs_[1]) / energy(far[1], split, fs_[1] + tail)),
    nearDb: db(energy(near[1], ns[0], ns[1] + ntail) / energy(near[0], ns[0], ns[1])),
    heard: { far: (fs_[1] - fs_[0]) / RATE, near: (ns[1] - ns[0]) / RATE },
  };
}
