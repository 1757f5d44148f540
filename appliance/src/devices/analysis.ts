// Pure judgements over raw samples: is this picture black or frozen, is this
// sound silent or clipping. The real devices feed them what ffmpeg captured,
// the simulated ones what they synthesise, so both are judged by one rule.

export interface PictureThresholds {
  /** Mean luma (0–255, full range) at or below which a picture counts as black. */
  blackMeanLuma: number;
  /** ...and only if the picture is that flat (standard deviation), so a dark room is not "black". */
  blackMaxStdDev: number;
  /**
   * Largest mean absolute difference between consecutive frames below which the
   * picture is frozen. A live sensor never repeats a frame byte for byte, even
   * in a still room; a stuck pipeline does, so this sits just above zero.
   */
  frozenMaxDiff: number;
}

export const DEFAULT_PICTURE: PictureThresholds = { blackMeanLuma: 20, blackMaxStdDev: 6, frozenMaxDiff: 0.002 };

export interface PictureVerdict {
  frames: number;
  meanLuma: number;
  maxFrameDiff: number;
  black: boolean;
  frozen: boolean;
}

/**
 * Judges `frames` 8-bit grey frames of `frameSize` bytes laid end to end (what
 * `ffmpeg -f rawvideo -pix_fmt gray` writes). A trailing partial frame is ignored.
 */
export function judgePicture(
  raw: Uint8Array,
  frameSize: number,
  t: PictureThresholds = DEFAULT_PICTURE,
): PictureVerdict {
  const frames = frameSize > 0 ? Math.floor(raw.length / frameSize) : 0;
  if (frames === 0) return { frames: 0, meanLuma: 0, maxFrameDiff: 0, black: false, frozen: false };
  let sum = 0;
  let sumSq = 0;
  const count = frames * frameSize;
  for (let i = 0; i < count; i++) {
    const y = raw[i]!;
    sum += y;
    sumSq += y * y;
  }
  const mean = sum / count;
  const stdDev = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
  let maxDiff = 0;
  for (let f = 1; f < frames; f++) {
    let d = 0;
    const a = (f - 1) * frameSize;
    const b = f * frameSize;
    for (let i = 0; i < frameSize; i++) d += Math.abs(raw[a + i]! - raw[b + i]!);
    maxDiff = Math.max(maxDiff, d / frameSize);
  }
  const black = mean <= t.blackMeanLuma && stdDev <= t.blackMaxStdDev;
  // One frame cannot be frozen; a black picture is reported as black, the stronger finding.
  const frozen = !black && frames >= 2 && maxDiff < t.frozenMaxDiff;
  return { frames, meanLuma: round2(mean), maxFrameDiff: round2(maxDiff), black, frozen };
}

export interface SoundThresholds {
  /** RMS level below which the microphone counts as silent (dBFS). */
  silenceDbfs: number;
  /** Share of samples in full-scale runs above which the microphone counts as clipping. */
  clippedRatio: number;
}

// A quiet meeting room still reads about -70 to -55 dBFS of background on a
// working microphone; a muted or dead input reads digital zero or the faint
// hiss of an open jack, well below -75.
export const DEFAULT_SOUND: SoundThresholds = { silenceDbfs: -75, clippedRatio: 0.001 };

/** Floor for levels, so digital silence stays a finite JSON number. */
export const DBFS_FLOOR = -120;

// A sample counts toward clipping only inside a run of at least this many
// samples at full scale: a clean sine that touches 0 dBFS has at most one or
// two samples at its peak, a clipped waveform has flat tops.
const CLIP_RUN = 3;
const FULL_SCALE = 32767 * 0.999;

export interface SoundVerdict {
  seconds: number;
  peakDbfs: number;
  rmsDbfs: number;
  clippedRatio: number;
  silent: boolean;
  clipping: boolean;
}

/** Judges signed 16-bit little-endian mono PCM (what `ffmpeg -f s16le -ac 1` writes). */
export function judgeSound(pcm: Uint8Array, sampleRate: number, t: SoundThresholds = DEFAULT_SOUND): SoundVerdict {
  const n = Math.floor(pcm.length / 2);
  const view = new DataView(pcm.buffer, pcm.byteOffset, n * 2);
  let peak = 0;
  let sumSq = 0;
  let clipped = 0;
  let run = 0;
  for (let i = 0; i < n; i++) {
    const s = view.getInt16(i * 2, true);
    const a = Math.abs(s);
    if (a > peak) peak = a;
    sumSq += s * s;
    if (a >= FULL_SCALE) {
      run++;
      if (run === CLIP_RUN) clipped += CLIP_RUN;
      else if (run > CLIP_RUN) clipped++;
    } else run = 0;
  }
  const rms = n > 0 ? Math.sqrt(sumSq / n) : 0;
  const peakDbfs = dbfs(peak);
  const rmsDbfs = dbfs(rms);
  const clippedRatio = n > 0 ? clipped / n : 0;
  return {
    seconds: round2(n / sampleRate),
    peakDbfs,
    rmsDbfs,
    clippedRatio: Math.round(clippedRatio * 1e4) / 1e4,
    silent: rmsDbfs < t.silenceDbfs,
    clipping: clippedRatio > t.clippedRatio,
  };
}

/** Level of a 16-bit amplitude relative to full scale; digital zero is DBFS_FLOOR. */
export function dbfs(amplitude: number): number {
  if (amplitude <= 0) return DBFS_FLOOR;
  const v = 20 * Math.log10(Math.min(1, amplitude / 32768));
  return Math.max(DBFS_FLOOR, round2(v));
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The last whole frame of a capture (the room's snapshot), or null when not even one came. */
export function lastFrameOf(
  frames: Uint8Array,
  w: number,
  h: number,
): { w: number; h: number; grey: Uint8Array } | null {
  const size = w * h;
  const n = Math.floor(frames.length / size);
  return n === 0 ? null : { w, h, grey: frames.slice((n - 1) * size, n * size) };
}
