// Echo in a simulated room (`npm run bench:room` prints it; `tsx bench/echo.ts`
// alone). The far end's voice, played on the TV, comes back into the room's
// microphone through a modelled room: the playback delay, the loudspeaker-to-
// microphone distance, attenuation and reverberation from an impulse response,
// with the room's own speaker talking over it at times. The microphone's
// signal goes through the WebRTC echo canceller (GStreamer's webrtcdsp with
// its webrtcechoprobe on the playback path: the same libwebrtc-audio-processing
// that PipeWire's echo-cancel module loads on the box), in real time, and the
// far end's share of what the room would send is compared with and without it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RATE = 16_000;
const SECONDS = 14;
/** When each voice talks: the far end alone, both at once, the room alone, the far end alone again. */
const SEGMENTS = {
  converge: [0, 3],
  farOnly: [3, 7],
  doubleTalk: [7, 9],
  nearOnly: [9, 11],
  farAgain: [11, 14],
} as const;
type Segment = keyof typeof SEGMENTS;

/** A small deterministic PRNG (mulberry32), so every run hears the same room. */
function prng(seed: number): () => number {
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
 * falling spectrum, a little breath noise, and syllables about four times a
 * second. Silent outside `talking`.
 */
function voice(f0: number, seed: number, talking: (t: number) => boolean): Float32Array {
  const rnd = prng(seed);
  const out = new Float32Array(RATE * SECONDS);
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    if (!talking(t)) continue;
    const pitch = f0 * (1 + 0.08 * Math.sin(2 * Math.PI * 0.7 * t) + 0.03 * Math.sin(2 * Math.PI * 3.1 * t));
    phase += (2 * Math.PI * pitch) / RATE;
    let s = 0;
    for (let h = 1; h <= 10; h++) s += Math.sin(h * phase) / h;
    const syllable = Math.pow(Math.abs(Math.sin(2 * Math.PI * 2.1 * t + seed)), 2);
    out[i] = 0.25 * syllable * (s + 0.3 * (rnd() * 2 - 1));
  }
  return out;
}

/** The room: direct path and reflections, decaying with RT60 ≈ 0.35 s. */
function impulseResponse(seed: number): Float32Array {
  const rnd = prng(seed);
  const ir = new Float32Array(Math.round(RATE * 0.35));
  const direct = Math.round(RATE * 0.008); // 2.7 m from loudspeaker to microphone
  ir[direct] = 0.5;
  for (let i = direct + 1; i < ir.length; i++) {
    const decay = Math.exp((-6.9 * (i - direct)) / ir.length);
    ir[i] = 0.12 * decay * (rnd() * 2 - 1) * (rnd() < 0.2 ? 1 : 0.25);
  }
  return ir;
}

function convolve(x: Float32Array, h: Float32Array, delay: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let n = 0; n < x.length; n++) {
    const v = x[n]!;
    if (v === 0) continue;
    const end = Math.min(h.length, y.length - n - delay);
    for (let k = 0; k < end; k++) y[n + delay + k]! += v * h[k]!;
  }
  return y;
}

function writeWav(file: string, x: Float32Array): void {
  const data = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++)
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i]! * 32767))), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([h, data]));
}

function readWav(file: string): Float32Array {
  const b = fs.readFileSync(file);
  const at = b.indexOf('data') + 8;
  const out = new Float32Array((b.length - at) >> 1);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(at + i * 2) / 32768;
  return out;
}

const power = (x: Float32Array, seg: Segment): number => {
  const [a, b] = SEGMENTS[seg];
  let s = 0;
  const from = Math.round(a * RATE);
  const to = Math.min(x.length, Math.round(b * RATE));
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return s / Math.max(1, to - from);
};
const db = (ratio: number): number => 10 * Math.log10(ratio);

export interface EchoFigures {
  /** How much lower the far end is in what the room sends, far end alone (dB). */
  farOnlyDb: number;
  /** The same after a stretch of double talk (dB). */
  farAgainDb: number;
  /** Change of the room's own voice, room alone (dB; 0 is untouched). */
  nearOnlyDb: number;
  /** Change of the room's voice while both talk (dB). */
  doubleTalkNearDb: number;
  /** How much lower the far end is while both talk (dB). */
  doubleTalkEchoDb: number;
}

/** The output shifted back by the canceller's own delay (found where it best matches the room's voice). */
function align(out: Float32Array, near: Float32Array): Float32Array {
  const [a, b] = SEGMENTS.nearOnly.map((x) => Math.round(x * RATE));
  let best = 0;
  let bestLag = 0;
  for (let lag = 0; lag <= RATE / 10; lag++) {
    let s = 0;
    for (let i = a!; i < b!; i += 2) s += (out[i + lag] ?? 0) * near[i]!;
    if (s > best) {
      best = s;
      bestLag = lag;
    }
  }
  return out.subarray(bestLag);
}

/**
 * Runs the room through webrtcdsp in real time (about 15 s). With `cancel`
 * false the same line runs with the canceller off: the control, which must
 * show about 0 dB, or the figure would be the pipeline's and not the canceller's.
 */
export function measureEcho(cancel = true): EchoFigures {
  const inSeg = (t: number, s: Segment): boolean => t >= SEGMENTS[s][0] && t < SEGMENTS[s][1];
  const far = voice(190, 1, (t) => !inSeg(t, 'nearOnly'));
  const near = voice(120, 2, (t) => inSeg(t, 'doubleTalk') || inSeg(t, 'nearOnly'));
  // 40 ms between the canceller's probe and the loudspeaker (the player's buffers).
  const echo = convolve(far, impulseResponse(3), Math.round(RATE * 0.04));
  const mic = echo.map((e, i) => e + near[i]!);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-echo-'));
  try {
    const farWav = path.join(dir, 'far.wav');
    const micWav = path.join(dir, 'mic.wav');
    const outWav = path.join(dir, 'out.wav');
    writeWav(farWav, far);
    writeWav(micWav, mic);
    const caps = `audio/x-raw,format=S16LE,rate=${RATE},channels=1,layout=interleaved`;
    // Both branches in real time, as on the box: the probe hears the far end as
    // it is played, the canceller the microphone as it is captured. Only the
    // canceller works on the signal: noise suppression, gain control and the
    // high-pass filter are off, so they cannot take credit for the figure.
    execFileSync(
      'gst-launch-1.0',
      [
        '-q',
        'filesrc',
        `location=${farWav}`,
        '!',
        'wavparse',
        '!',
        'audioconvert',
        '!',
        caps,
        '!',
        'webrtcechoprobe',
        'name=probe',
        '!',
        'fakesink',
        'sync=true',
        'filesrc',
        `location=${micWav}`,
        '!',
        'wavparse',
        '!',
        'audioconvert',
        '!',
        caps,
        '!',
        'identity',
        'sync=true',
        '!',
        'webrtcdsp',
        'probe=probe',
        `echo-cancel=${cancel}`,
        'noise-suppression=false',
        'gain-control=false',
        'high-pass-filter=false',
        '!',
        'wavenc',
        '!',
        'filesink',
        `location=${outWav}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
    const out = align(readWav(outWav), near);
    // While both talk, the room's voice is what of `near` is in the output
    // (least squares), and the echo is what is left.
    const [a, b] = SEGMENTS.doubleTalk.map((x) => Math.round(x * RATE));
    let on = 0;
    let nn = 0;
    for (let i = a!; i < b!; i++) {
      on += out[i]! * near[i]!;
      nn += near[i]! * near[i]!;
    }
    const g = on / nn;
    const rest = out.map((v, i) => v - g * near[i]!);
    return {
      farOnlyDb: db(power(mic, 'farOnly') / power(out, 'farOnly')),
      farAgainDb: db(power(mic, 'farAgain') / power(out, 'farAgain')),
      nearOnlyDb: db(power(out, 'nearOnly') / power(mic, 'nearOnly')),
      doubleTalkNearDb: 20 * Math.log10(Math.abs(g)),
      doubleTalkEchoDb: db(power(echo, 'doubleTalk') / power(rest, 'doubleTalk')),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints both runs; `npm run bench:room` calls this last. */
export function printEcho(): void {
  const f = (x: number): string => `${x >= 0 ? ' ' : ''}${x.toFixed(1)} dB`;
  console.log(
    '\n4. echo: the far end played on the TV, back through a modelled room (40 ms playback delay, 2.7 m, RT60 0.35 s) into the microphone, 16 kHz:',
  );
  console.log("   how much lower the far end is in what the room sends, and what happens to the room's own voice:");
  console.log('                                     canceller on   off (control)');
  const on = measureEcho(true);
  const off = measureEcho(false);
  console.log(`   far end alone                      ${f(on.farOnlyDb)}      ${f(off.farOnlyDb)}`);
  console.log(`   far end alone, after double talk   ${f(on.farAgainDb)}      ${f(off.farAgainDb)}`);
  console.log(`   far end while both talk            ${f(on.doubleTalkEchoDb)}      ${f(off.doubleTalkEchoDb)}`);
  console.log(`   room's voice alone (0 = kept)      ${f(on.nearOnlyDb)}      ${f(off.nearOnlyDb)}`);
  console.log(`   room's voice while both talk       ${f(on.doubleTalkNearDb)}      ${f(off.doubleTalkNearDb)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) printEcho();
