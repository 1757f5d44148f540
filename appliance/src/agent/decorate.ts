import type { QueueHead } from '../queue/index.js';

/**
 * Telemetry carries the number of samples the queue had to drop before it
 * (`dropped`), so the fleet can tell a full disk from a lost message. The count
 * is only known when the sample is sent, so it is added then.
 */
export function decorateTelemetry(head: QueueHead): string {
  if (head.channel !== 'telemetry' || head.droppedBefore === 0) return head.payload;
  try {
    const sample = JSON.parse(head.payload) as Record<string, unknown>;
    const before = typeof sample.dropped === 'number' ? sample.dropped : 0;
    return JSON.stringify({ ...sample, dropped: before + head.droppedBefore });
  } catch {
    return head.payload; // not ours to repair; the fleet will reject it with a reason
  }
}
