import type { QueueRecord } from './types.js';

// On-disk format, pure functions only. A segment file holds one JSON record per
// line: {"i":index,"c":channel,"p":payload}. Lines are appended whole; a crash
// can leave at most a torn last line, which recovery cuts off. Names carry the
// first index, zero-padded, so a plain sort gives the order.

export const SEGMENT_PREFIX = 'seg-';
export const SEGMENT_SUFFIX = '.log';

export const segmentName = (firstIndex: number): string =>
  `${SEGMENT_PREFIX}${String(firstIndex).padStart(16, '0')}${SEGMENT_SUFFIX}`;

export function parseSegmentName(name: string): number | null {
  if (!name.startsWith(SEGMENT_PREFIX) || !name.endsWith(SEGMENT_SUFFIX)) return null;
  const digits = name.slice(SEGMENT_PREFIX.length, -SEGMENT_SUFFIX.length);
  return /^\d{16}$/.test(digits) ? Number(digits) : null;
}

export const encodeRecord = (r: QueueRecord): string =>
  `${JSON.stringify({ i: r.index, c: r.channel, p: r.payload })}\n`;

export interface ParsedSegment {
  records: QueueRecord[];
  /** Bytes of whole, valid lines from the start: where a torn tail begins. */
  validBytes: number;
  /** Lines that were complete but unreadable (bit rot, a foreign write). */
  corruptLines: number;
  /** True when the file ends in an incomplete line (a write cut short). */
  tornTail: boolean;
}

export function parseSegment(buf: Buffer): ParsedSegment {
  const records: QueueRecord[] = [];
  let corruptLines = 0;
  let start = 0;
  let validBytes = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    if (nl === -1) break; // torn tail: no newline, the write never finished
    const line = buf.subarray(start, nl).toString('utf8');
    start = nl + 1;
    const rec = decodeLine(line);
    if (rec) records.push(rec);
    else corruptLines++;
    validBytes = start;
  }
  return { records, validBytes, corruptLines, tornTail: validBytes < buf.length };
}

function decodeLine(line: string): QueueRecord | null {
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v !== 'object' || v === null) return null;
    const { i, c, p } = v as { i: unknown; c: unknown; p: unknown };
    if (!Number.isSafeInteger(i) || (i as number) < 0 || typeof c !== 'string' || typeof p !== 'string') return null;
    return { index: i as number, channel: c, payload: p };
  } catch {
    return null;
  }
}

export interface QueueState {
  /** Every record with a smaller index is acknowledged or dropped. */
  committed: number;
  /** Dropped since the last acknowledged record. */
  dropped: number;
}

export function parseState(text: string | undefined): QueueState {
  if (text === undefined) return { committed: 0, dropped: 0 };
  try {
    const v = JSON.parse(text) as Partial<QueueState>;
    const ok = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
    return { committed: ok(v.committed) ? v.committed : 0, dropped: ok(v.dropped) ? v.dropped : 0 };
  } catch {
    // A rename is atomic, so this is a foreign edit; redelivering is safer than skipping.
    return { committed: 0, dropped: 0 };
  }
}
