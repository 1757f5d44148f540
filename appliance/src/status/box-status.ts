// What the box is doing, in one word, for the two things a clerk in the room
// can see: the TV's kiosk page and the status LED. Pure: the facts come from
// the agent (its fleet link, the network, the updater's last report), the
// word decides the page's sentence and the LED's rhythm, so both always agree.
import type { LedPatternName, OtaState } from '@diemcau/shared';
import { statusPattern } from '../devices/gpio/led.js';

export const BOX_STATES = [
  'starting',
  'enrolling',
  'connecting',
  'online',
  'no-network',
  'offline',
  'updating',
  'rolled-back',
  'update-failed',
] as const;
export type BoxState = (typeof BOX_STATES)[number];

/** The updater's last report as the agent saw it (a subset of the 'ota' message). */
export interface OtaView {
  state: OtaState;
  /** The version the box runs. */
  current: string;
  /** The version being installed, or the one that failed. */
  target?: string;
  progress?: { bytes: number; total: number };
  at: string;
}

export interface StatusFacts {
  enrolled: boolean;
  /** The agent's MQTT link to the fleet; null before the agent said. */
  connected: boolean | null;
  /** A default route exists (a cable, an address); null when not known. */
  network: boolean | null;
  ota: OtaView | null;
  now: number;
}

/** A failed or rolled-back update is told on the TV and the LED for this long (the box works meanwhile). */
export const UPDATE_NOTICE_MS = 24 * 3600_000;

const WORKING: ReadonlySet<OtaState> = new Set(['downloading', 'verifying', 'installing', 'switching', 'health-check']);

/** The most urgent thing first: an update in progress (do not unplug), then the network, then the fleet. */
export function boxState(f: StatusFacts): BoxState {
  if (f.ota && WORKING.has(f.ota.state)) return 'updating';
  if (f.network === false) return 'no-network';
  if (!f.enrolled) return 'enrolling';
  if (f.connected === false) return 'offline';
  if (f.connected === null) return 'connecting';
  const o = f.ota;
  if (o && (o.state === 'rolled-back' || o.state === 'failed') && f.now - Date.parse(o.at) < UPDATE_NOTICE_MS)
    return o.state === 'rolled-back' ? 'rolled-back' : 'update-failed';
  return 'online';
}

/**
 * The LED's pattern for a state (patterns in devices/gpio/led.ts). Online
 * with a broken camera, microphone or TV still blinks "error": the clerk
 * calls the province before the meeting rather than during it.
 */
export function ledPatternFor(state: BoxState, roomReady: boolean): LedPatternName {
  const phase =
    state === 'enrolling' || state === 'starting'
      ? 'enrolling'
      : state === 'online' || state === 'rolled-back' || state === 'update-failed'
        ? 'online'
        : state === 'connecting'
          ? 'connecting'
          : 'offline';
  return statusPattern({
    phase,
    updating: state === 'updating',
    failed: false,
    roomReady,
    notice: state === 'rolled-back' || state === 'update-failed',
  });
}

/** The page's sentences, Vietnamese first; {target}, {current} and {percent} are filled from the state. */
export const STATE_TEXT: Record<BoxState, { vi: string; en: string }> = {
  starting: { vi: 'Đang khởi động…', en: 'Starting…' },
  enrolling: {
    vi: 'Thiết bị chưa được đăng ký. Vui lòng cắm USB cấu hình.',
    en: 'This box is not enrolled yet. Please insert the setup USB stick.',
  },
  connecting: { vi: 'Đã đăng ký. Đang kết nối với hệ thống…', en: 'Enrolled. Connecting to the fleet…' },
  online: {
    vi: 'Sẵn sàng. Hiện chưa có cuộc họp; màn hình tự chuyển vào cuộc họp khi bắt đầu.',
    en: 'Ready. No meeting right now; the screen joins the meeting by itself when it starts.',
  },
  'no-network': {
    vi: 'Không có mạng. Vui lòng kiểm tra dây mạng của thiết bị.',
    en: "No network. Please check the box's network cable.",
  },
  offline: { vi: 'Mất kết nối với trung tâm. Đang thử lại…', en: 'No connection to the fleet. Retrying…' },
  updating: {
    vi: 'Đang cập nhật phần mềm (phiên bản {target}{percent}). Vui lòng không tắt nguồn.',
    en: 'Updating the software (version {target}{percent}). Please do not switch the power off.',
  },
  'rolled-back': {
    vi: 'Bản cập nhật {target} bị lỗi nên thiết bị đã quay lại phiên bản {current}. Thiết bị vẫn hoạt động bình thường.',
    en: 'Update {target} failed, so the box went back to version {current}. It works as before.',
  },
  'update-failed': {
    vi: 'Không cài được bản cập nhật {target}; thiết bị vẫn chạy phiên bản {current}.',
    en: 'Update {target} could not be installed; the box still runs version {current}.',
  },
};
