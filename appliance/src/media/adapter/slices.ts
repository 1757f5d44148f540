// How an edge's RTP ports are cut between its workers: pure, so the settings
// check (config.ts) and the pool (pool.ts) agree on the slice a worker gets
// without the settings loading mediasoup.
import os from 'node:os';

/** The fewest RTP ports a worker's slice may have (a WebRtcServer takes two, each meeting's links more). */
export const MIN_PORTS_PER_WORKER = 8;

export interface PortSlice {
  min: number;
  max: number;
}

/**
 * The workers an edge runs and each one's contiguous slice of [min, max] (the
 * last takes the remainder). Unset, as many as there are cores and as the range
 * has `minPerWorker` ports for (at least one); the caller checks `smallest`.
 */
export function workerSlices(
  min: number,
  max: number,
  workers?: number,
  minPerWorker = MIN_PORTS_PER_WORKER,
  cores = os.availableParallelism(),
): { count: number; slices: PortSlice[]; smallest: number } {
  const total = max - min + 1;
  const count =
    workers ?? Math.max(1, Math.min(cores, Math.floor(total / Math.max(minPerWorker, MIN_PORTS_PER_WORKER))));
  const each = Math.floor(total / count);
  const slices = Array.from({ length: count }, (_, i) => ({
    min: min + i * each,
    max: i === count - 1 ? max : min + (i + 1) * each - 1,
  }));
  return { count, slices, smallest: each };
}
