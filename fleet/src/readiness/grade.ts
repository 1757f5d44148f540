// From what a box measured to green, amber or red, with each reason in
// Vietnamese and English. Pure. Thresholds come from the readiness settings:
//   red:   camera, microphone or TV missing or failing; the upstream edge not
//          reached; probe loss ≥ redLossPct; median round trip ≥ redRttMs;
//          the path carried < redBandwidthPct of the probe rate; no box; no answer.
//   amber: a part that could not be checked (busy); loss ≥ amberLossPct;
//          round trip ≥ amberRttMs; carried < amberBandwidthPct of the rate.
//   green: none of these.
import type { PeripheralReasonCode, PeripheralState, ReadinessReport } from '@diemcau/shared';
import type { ReadinessConfig } from './config.js';

export const READINESS_COLOURS = ['pending', 'green', 'amber', 'red'] as const;
export type ReadinessColour = (typeof READINESS_COLOURS)[number];

export type ReasonCode =
  | 'camera'
  | 'microphone'
  | 'display'
  | 'link-unreachable'
  | 'link-loss'
  | 'link-rtt'
  | 'link-bandwidth'
  | 'no-box'
  | 'no-answer';

export interface ReadinessReason {
  code: ReasonCode;
  level: 'amber' | 'red';
  vi: string;
  en: string;
}

export interface Graded {
  colour: Exclude<ReadinessColour, 'pending'>;
  reasons: ReadinessReason[];
}

/** How the reasons name the edge a site links to. */
export interface EdgeLabel {
  vi: string;
  en: string;
}

const PART = {
  camera: { vi: 'Camera', en: 'Camera' },
  microphone: { vi: 'Micrô', en: 'Microphone' },
  display: { vi: 'TV', en: 'TV' },
} as const;

const REASON: Record<PeripheralReasonCode, { vi: string; en: string }> = {
  'none-found': { vi: 'không tìm thấy', en: 'not found' },
  'open-failed': { vi: 'không mở được', en: 'cannot be opened' },
  busy: { vi: 'đang bận, chưa kiểm tra được', en: 'busy, not checked' },
  black: { vi: 'cho hình đen', en: 'gives a black picture' },
  frozen: { vi: 'hình bị đứng', en: 'picture frozen' },
  silent: { vi: 'không thu được tiếng', en: 'picks up no sound' },
  clipping: { vi: 'tiếng bị rè, quá mức', en: 'sound clipping' },
  disconnected: { vi: 'chưa nối với máy', en: 'not connected' },
  standby: { vi: 'đang tắt (chờ)', en: 'in standby' },
  unavailable: { vi: 'không có', en: 'not available' },
  timeout: { vi: 'kiểm tra quá thời gian', en: 'check timed out' },
  error: { vi: 'bị lỗi', en: 'failed' },
};

const STATE_TEXT: Record<Exclude<PeripheralState, 'ok'>, { vi: string; en: string }> = {
  missing: REASON['none-found'],
  fault: REASON.error,
  unknown: REASON.busy,
};

const pct = (x: number): string => (Math.round(x * 1000) / 10).toString();
const mbit = (kbps: number): string => (Math.round(kbps / 100) / 10).toString();
const viNumber = (s: string): string => s.replace('.', ',');

function partReason(
  name: keyof typeof PART,
  part: { state: PeripheralState; reason?: { code: PeripheralReasonCode } | undefined },
): ReadinessReason | null {
  if (part.state === 'ok') return null;
  const why = part.reason ? REASON[part.reason.code] : STATE_TEXT[part.state];
  const level = part.state === 'unknown' ? 'amber' : 'red';
  return { code: name, level, vi: `${PART[name].vi} ${why.vi}`, en: `${PART[name].en} ${why.en}` };
}

export function gradeReport(report: ReadinessReport, cfg: ReadinessConfig, edge: EdgeLabel): Graded {
  const reasons: ReadinessReason[] = [];
  for (const name of ['camera', 'microphone', 'display'] as const) {
    const r = partReason(name, report[name]);
    if (r) reasons.push(r);
  }
  const p = report.probe;
  if (p) {
    if (p.error !== undefined || p.received === 0) {
      reasons.push({
        code: 'link-unreachable',
        level: 'red',
        vi: `Không tới được ${edge.vi}`,
        en: `Cannot reach ${edge.en}`,
      });
    } else {
      const loss = p.lossRate * 100;
      if (loss >= cfg.amberLossPct) {
        reasons.push({
          code: 'link-loss',
          level: loss >= cfg.redLossPct ? 'red' : 'amber',
          vi: `Mất ${viNumber(pct(p.lossRate))} % gói tin trên đường tới ${edge.vi}`,
          en: `${pct(p.lossRate)} % packet loss on the link to ${edge.en}`,
        });
      }
      if (p.rttMsP50 !== null && p.rttMsP50 >= cfg.amberRttMs) {
        reasons.push({
          code: 'link-rtt',
          level: p.rttMsP50 >= cfg.redRttMs ? 'red' : 'amber',
          vi: `Độ trễ khứ hồi tới ${edge.vi} là ${Math.round(p.rttMsP50)} ms`,
          en: `Round trip to ${edge.en} is ${Math.round(p.rttMsP50)} ms`,
        });
      }
      const carried = p.rateKbps > 0 ? (p.throughputKbps / p.rateKbps) * 100 : 100;
      if (carried < cfg.amberBandwidthPct) {
        reasons.push({
          code: 'link-bandwidth',
          level: carried < cfg.redBandwidthPct ? 'red' : 'amber',
          vi: `Đường truyền chỉ tải được ${viNumber(mbit(p.throughputKbps))} trên ${viNumber(mbit(p.rateKbps))} Mbit/s cần cho hình độ nét cao`,
          en: `The link carried ${mbit(p.throughputKbps)} of the ${mbit(p.rateKbps)} Mbit/s a Full HD picture needs`,
        });
      }
    }
  }
  return { colour: colourOf(reasons), reasons };
}

export const colourOf = (reasons: readonly ReadinessReason[]): Graded['colour'] =>
  reasons.some((r) => r.level === 'red') ? 'red' : reasons.length > 0 ? 'amber' : 'green';

export const NO_BOX: ReadinessReason = {
  code: 'no-box',
  level: 'red',
  vi: 'Điểm cầu chưa có thiết bị',
  en: 'No box is installed at the site',
};

export const NO_ANSWER: ReadinessReason = {
  code: 'no-answer',
  level: 'red',
  vi: 'Thiết bị chưa trả lời lần kiểm tra',
  en: 'The box has not answered the check',
};
