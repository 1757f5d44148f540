// What the chair's console says about the called room's live picture
// (views/RollCallPicture.tsx), as pure rules: from the framed edge page's last
// report (appliance/src/media/web/watch.js) and how old things are, the
// words to show. Tested without a browser (fleet/test/ui/picture-status.test.ts).
/** What the framed page says (appliance/src/media/web/watch.js); nothing in it is secret. */
export interface Report {
  siteId: string | null;
  status: 'joining' | 'receiving' | 'not-sending' | 'no-roll-call' | 'refused' | 'error';
  frames: number;
  reason: string | null;
}

export type PictureStatus =
  | 'connecting'
  | 'playing'
  | 'switching'
  | 'not-sending'
  | 'unreachable'
  | 'no-address'
  | 'forbidden'
  | 'refused'
  | 'unavailable';

/** A page silent this long is taken for an edge that cannot be reached (it reports every 0.5 s). */
export const SILENT_MS = 8_000;
/** A picture whose frame count has not moved this long is a room that sends nothing. */
export const FROZEN_MS = 4_000;

const STATUSES = new Set(['joining', 'receiving', 'not-sending', 'no-roll-call', 'refused', 'error']);
export function reportOf(data: unknown): Report | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (d.diemcau !== 'roll-call-picture' || typeof d.status !== 'string' || !STATUSES.has(d.status)) return null;
  return {
    siteId: typeof d.siteId === 'string' ? d.siteId : null,
    status: d.status as Report['status'],
    frames: typeof d.frames === 'number' && Number.isFinite(d.frames) ? d.frames : 0,
    reason: typeof d.reason === 'string' ? d.reason : null,
  };
}

/**
 * What to tell the chair, from the page's last report and how old things are:
 * `sinceReport` since the page last reported anything but an error (a page
 * whose edge went away keeps running and reporting errors), `sinceFrame` since
 * its frame count last moved, `sinceSite` since it began showing its site,
 * `sinceOpen` since the frame was opened.
 */
export function pictureStatus(
  siteId: string,
  r: Report | null,
  ages: { sinceReport: number; sinceFrame: number; sinceSite: number; sinceOpen: number },
): PictureStatus {
  if (r === null) return ages.sinceOpen > SILENT_MS ? 'unreachable' : 'connecting';
  if (ages.sinceReport > SILENT_MS) return 'unreachable';
  if (r.status === 'refused') return 'refused';
  if (r.status === 'joining' || r.status === 'error') return 'connecting';
  if (r.siteId !== siteId) return 'switching';
  if (r.status === 'not-sending') return 'not-sending';
  if (r.status === 'receiving') {
    if (ages.sinceFrame <= FROZEN_MS) return 'playing';
    return ages.sinceSite <= FROZEN_MS ? 'connecting' : 'not-sending';
  }
  return 'connecting';
}
