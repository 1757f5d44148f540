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

/** Double talk: the far end talks DOUBLE_SECONDS[0] s alone, then both for [1] s, then the far end alone for [2] s. */
export const DOUBLE_SECONDS = [3, NEAR_SECONDS, 3] as const;

/** The double-talk take as [far end, room]: the room's voice (nearVoice) in the middle of a longer far end. */
export function doubleTalk(): [Float32Array, Float32Array] {
  const [before, both, after] = DOUBLE_SECONDS;
  const far = voice(190, 4, before + both + after);
  const room = new Float32Array(far.length);
  // Both voices carry a quarter second of silence before their sound: the room's starts `before` s after the far end's.
  room.set(nearVoice(), Math.round(before * RATE));
  return [far, room];
}

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

/** 16-bit PCM WAV, every channel. */
export function readWavChannels(file: string): Float32Array[] {
  const b = fs.readFileSync(file);
  let at = 12;
  let channels = 0;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') channels = b.readUInt16LE(at + 10);
    if (id === 'data') {
      if (channels < 1) throw new Error(`${file}: no format before the data`);
      const n = Math.floor(Math.min(size, b.length - at - 8) / 2 / channels);
      const out = Array.from({ length: channels }, () => new Float32Array(n));
      for (let i = 0; i < n; i++)
        for (let c = 0; c < channels; c++) out[c]![i] = b.readInt16LE(at + 8 + (i * channels + c) * 2) / 32768;
      return out;
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

export interface DoubleTalkFigures {
  /** The far end alone before the room speaks: how much lower in what is sent than in the microphone (dB). */
  beforeDb: number;
  /** While both talk: the echo (what is sent, less the room's voice in it) against the echo in the microphone (dB). */
  echoDb: number;
  /** While both talk: the room's voice in what is sent against in the microphone (dB; 0 = kept). */
  nearDb: number;
  /** The far end alone again, after the double talk (dB). */
  afterDb: number;
  /** The canceller's own delay of the room's voice (ms), found by matching it. */
  delayMs: number;
}

/** Of the reference `ref` (shifted later by `lag` samples), its gain in `x` over [a, b): least squares. */
function gainOf(x: Float32Array, ref: Float32Array, lag: number, a: number, b: number): number {
  let xr = 0;
  let rr = 0;
  for (let i = a; i < b; i++) {
    const r = ref[i - lag] ?? 0;
    xr += x[i]! * r;
    rr += r * r;
  }
  return rr > 0 ? xr / rr : 0;
}

/** The lag (0 to 100 ms, in samples) at which `ref` best matches `x` over [a, b): coarse steps, then around the best. */
function lagOf(x: Float32Array, ref: Float32Array, a: number, b: number): number {
  const score = (lag: number, step: number): number => {
    let s = 0;
    for (let i = a; i < b; i += step) s += x[i]! * (ref[i - lag] ?? 0);
    return s;
  };
  let best = 0;
  for (let lag = 0; lag <= RATE / 10; lag += 8) if (score(lag, 4) > score(best, 4)) best = lag;
  let fine = best;
  for (let lag = Math.max(0, best - 8); lag <= best + 8; lag++) if (score(lag, 1) > score(fine, 1)) fine = lag;
  return fine;
}

/**
 * Figures of the double-talk take ([microphone, sent, the room's voice as it
 * entered the air], in step). The room's voice is found in the microphone and
 * in what is sent (its delay, then its gain by least squares); what is left
 * of each while both talk is the echo. A canceller that also cuts into the
 * room's voice leaves that cut in the rest too: the echo figure is then lower,
 * never flattered.
 */
export function doubleTalkFigures([mic, sent, ref]: [Float32Array, Float32Array, Float32Array]): DoubleTalkFigures {
  const span = activeSpan(ref);
  if (!span) throw new Error('the room did not speak in the double-talk take');
  const [n0, n1] = span;
  const mLag = lagOf(mic, ref, n0, n1);
  const sLag = lagOf(sent, ref, n0, n1);
  // Where the room's voice sits in each: later than in the reference by its lag.
  const gm = gainOf(mic, ref, mLag, n0 + mLag, n1 + mLag);
  const gs = gainOf(sent, ref, sLag, n0 + sLag, n1 + sLag);
  const rest = (x: Float32Array, g: number, lag: number, a: number, b: number): number => {
    let e = 0;
    for (let i = a; i < b; i++) {
      const v = x[i]! - g * (ref[i - lag] ?? 0);
      e += v * v;
    }
    return e;
  };
  // The far end alone: up to the room's first word, and from half a second after its last (the canceller recovering).
  const before: [number, number] = [n0 - 2 * RATE, n0 - RATE / 10];
  const after: [number, number] = [n1 + RATE / 2, n1 + 2 * RATE];
  if (before[0] < 0 || after[1] > mic.length) throw new Error('the double-talk take is shorter than its voices');
  const alone = ([a, b]: [number, number]): number => db(energy(mic, a, b) / energy(sent, a, b));
  return {
    beforeDb: alone(before),
    echoDb: db(rest(mic, gm, mLag, n0 + mLag, n1 + mLag) / rest(sent, gs, sLag, n0 + sLag, n1 + sLag)),
    nearDb: 20 * Math.log10(Math.abs(gs / gm)),
    afterDb: alone(after),
    delayMs: ((sLag - mLag) / RATE) * 1000,
  };
}
