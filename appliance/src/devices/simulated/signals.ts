// Synthetic picture and sound for the simulated camera and microphone, in the
// same raw formats ffmpeg delivers for the real ones, so both go through the
// same judgement. A small deterministic generator keeps runs reproducible.

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

export type PictureKind = 'live' | 'black' | 'frozen';

/** `frames` grey frames of w×h: a moving gradient with sensor noise, a dark frame, or one frame repeated. */
export function synthPicture(kind: PictureKind, w: number, h: number, frames: number, seed = 1): Uint8Array {
  const rnd = lcg(seed);
  const size = w * h;
  const out = new Uint8Array(size * frames);
  for (let f = 0; f < frames; f++) {
    const shift = kind === 'frozen' ? 0 : f * 7;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = f * size + y * w + x;
        if (kind === 'black') out[i] = 2 + Math.floor(rnd() * 2);
        else if (kind === 'frozen') out[i] = (x * 3 + y * 2 + 40) & 0xff;
        else out[i] = Math.min(255, ((x * 3 + y * 2 + shift) % 200) + 30 + Math.floor(rnd() * 4));
      }
    }
  }
  return out;
}

export type SoundKind = 'speech' | 'muted' | 'clipping';

/** `seconds` of s16le mono: a tone at -20 dBFS with a little noise, digital silence, or a tone driven past full scale. */
export function synthSound(kind: SoundKind, sampleRate: number, seconds: number, seed = 1): Uint8Array {
  const rnd = lcg(seed);
  const n = Math.round(sampleRate * seconds);
  const buf = Buffer.alloc(n * 2);
  const amp = kind === 'clipping' ? 32767 * 3 : 32767 * 0.1;
  for (let i = 0; i < n; i++) {
    if (kind === 'muted') continue;
    const v = amp * Math.sin((2 * Math.PI * 440 * i) / sampleRate) + (rnd() - 0.5) * 200;
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), i * 2);
  }
  return buf;
}
