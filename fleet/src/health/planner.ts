import type { PeripheralName, PeripheralReason, Peripherals, PeripheralState, Telemetry } from '@diemcau/shared';
import type { AlertSeverity, HealthAlertType } from '../alerts/alert-types.js';

// Which health alerts should be open for one device, given what it just said.
// Pure: the caller passes the alert types open now and applies the diff.
//
// Two sources speak about peripherals and they know different things:
//   'report'    the cheap change report: enumeration and connectors, no capture;
//   'self-test' a full check that records a second of picture and sound.
// A source only decides the alerts it can see: a report saying "camera ok"
// closes camera-missing but not camera-fault (a black picture needs a capture
// to be seen), while a report saying "camera missing" closes both.

export interface Condition {
  type: HealthAlertType;
  severity: AlertSeverity;
  message: string;
  details: Record<string, unknown>;
}

export interface HealthDiff {
  open: Condition[];
  resolve: HealthAlertType[];
}

export type PeripheralSource = 'report' | 'self-test';

type Reasons = Partial<Record<PeripheralName, PeripheralReason>>;

const MISSING: Record<'camera' | 'microphone' | 'display', HealthAlertType> = {
  camera: 'camera-missing',
  microphone: 'microphone-missing',
  display: 'display-disconnected',
};
/** Alert types only a capture (self-test) can confirm or clear. */
const CAPTURE: Record<'camera' | 'microphone' | 'display', HealthAlertType[]> = {
  camera: ['camera-fault'],
  microphone: ['microphone-silent', 'microphone-fault'],
  display: [],
};

function faultType(
  name: 'camera' | 'microphone' | 'display',
  reason: PeripheralReason | undefined,
): HealthAlertType | null {
  if (name === 'camera') return 'camera-fault';
  if (name === 'microphone') return reason?.code === 'silent' ? 'microphone-silent' : 'microphone-fault';
  // A TV in standby between meetings is normal; a TV on no connector is not.
  if (reason?.code === 'disconnected' || reason?.code === 'none-found') return 'display-disconnected';
  return null;
}

const LABEL = { camera: 'camera', microphone: 'microphone', display: 'TV' } as const;

function peripheralCondition(
  name: 'camera' | 'microphone' | 'display',
  state: PeripheralState,
  reason: PeripheralReason | undefined,
): Condition | null {
  const type = state === 'missing' ? MISSING[name] : state === 'fault' ? faultType(name, reason) : null;
  if (!type) return null;
  const what = reason ? `${reason.code}: ${reason.message}` : state;
  return {
    type,
    // Without camera, microphone or TV the site cannot take part in a meeting,
    // so how urgent this is depends on when its next meeting is: warning here,
    // raised to critical near a meeting (alerts/escalation-planner.ts).
    severity: 'warning',
    message: `${LABEL[name]} ${state === 'missing' ? 'not found' : 'faulty'} (${what})`,
    details: { peripheral: name, state, ...(reason ? { reason: reason.code } : {}) },
  };
}

/** The alert types one peripheral message decides, and which of them should be open. */
export function planPeripherals(
  source: PeripheralSource,
  peripherals: Peripherals,
  reasons: Reasons,
  openNow: ReadonlySet<HealthAlertType>,
): HealthDiff {
  const open: Condition[] = [];
  const resolve: HealthAlertType[] = [];
  for (const name of ['camera', 'microphone', 'display'] as const) {
    const state = peripherals[name];
    if (state === 'unknown') continue; // says nothing: keep what is open
    const decides = new Set<HealthAlertType>([MISSING[name]]);
    if (source === 'self-test' || state === 'missing') CAPTURE[name].forEach((t) => decides.add(t));
    const want = peripheralCondition(name, state, reasons[name]);
    if (want && source === 'report' && CAPTURE[name].includes(want.type)) decides.add(want.type);
    for (const t of decides) {
      if (want?.type === t) {
        if (!openNow.has(t)) open.push(want);
      } else if (openNow.has(t)) {
        resolve.push(t);
      }
    }
  }
  return { open, resolve };
}

export interface TelemetryThresholds {
  diskOpenRatio: number;
  diskResolveRatio: number;
  tempOpenC: number;
  tempResolveC: number;
}

export const DEFAULT_THRESHOLDS: TelemetryThresholds = {
  diskOpenRatio: 0.9,
  diskResolveRatio: 0.85,
  tempOpenC: 85,
  tempResolveC: 80,
};

/** Disk and temperature, with hysteresis so a value hovering at the line does not flap. */
export function planTelemetry(
  t: Telemetry,
  openNow: ReadonlySet<HealthAlertType>,
  th: TelemetryThresholds = DEFAULT_THRESHOLDS,
): HealthDiff {
  const open: Condition[] = [];
  const resolve: HealthAlertType[] = [];
  if (t.disk.totalBytes > 0) {
    const ratio = t.disk.usedBytes / t.disk.totalBytes;
    const pct = Math.round(ratio * 1000) / 10;
    if (!openNow.has('disk-nearly-full') && ratio >= th.diskOpenRatio) {
      open.push({
        type: 'disk-nearly-full',
        severity: 'warning',
        message: `disk ${pct}% full`,
        details: { usedRatio: ratio, usedBytes: t.disk.usedBytes, totalBytes: t.disk.totalBytes },
      });
    } else if (openNow.has('disk-nearly-full') && ratio < th.diskResolveRatio) {
      resolve.push('disk-nearly-full');
    }
  }
  const temp = t.cpu.temperatureC;
  if (temp !== undefined) {
    if (!openNow.has('overheating') && temp >= th.tempOpenC) {
      open.push({
        type: 'overheating',
        severity: 'critical',
        message: `CPU at ${temp} °C`,
        details: { temperatureC: temp },
      });
    } else if (openNow.has('overheating') && temp < th.tempResolveC) {
      resolve.push('overheating');
    }
  }
  return { open, resolve };
}
