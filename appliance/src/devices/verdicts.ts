import type {
  CameraHealth,
  DisplayHealth,
  MicrophoneHealth,
  PeripheralReason,
  PeripheralReasonCode,
  Peripherals,
  TvPower,
} from '@diemcau/shared';
import type { PictureVerdict, SoundVerdict } from './analysis.js';
import { runFailure } from './process-runner.js';
import type { DrmConnector } from './real/scan.js';
import type { CameraDevice, MicrophoneDevice, PeripheralsSnapshot } from './types.js';

// From what was found and measured to the states the fleet sees. Pure, and the
// same for real and simulated hardware, so a simulated fault produces exactly
// the report a real one would.

const reason = (code: PeripheralReasonCode, message: string): PeripheralReason => ({
  code,
  message: message.slice(0, 500),
});

/** A failed capture as a reason: missing tool, timeout, or the device refused. */
export function captureFailure(what: string, err: unknown): PeripheralReason {
  const failure = runFailure(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (failure === 'timeout') return reason('timeout', `${what} did not deliver in time`);
  if (failure === 'not-installed') return reason('error', `cannot capture the ${what}: ${msg}`);
  // During a meeting the media edge holds the device; that says nothing about its health.
  const stderr = (err as { details?: { stderr?: string } }).details?.stderr ?? '';
  if (/resource busy|device busy/i.test(`${msg}\n${stderr}`))
    return reason('busy', `the ${what} is in use by another program`);
  return reason('open-failed', `cannot capture the ${what}: ${msg}`);
}

const failureState = (r: PeripheralReason): 'unknown' | 'fault' => (r.code === 'busy' ? 'unknown' : 'fault');

export interface CameraFindings {
  devices: CameraDevice[];
  /** Set when a capture was attempted. */
  device?: string;
  verdict?: PictureVerdict;
  failure?: PeripheralReason;
}

export function cameraHealth(f: CameraFindings): CameraHealth {
  // Clamped to what the schema takes: a message the fleet rejects would hide the finding.
  const devices = f.devices.slice(0, 32).map((d) => ({ node: d.node.slice(0, 200), name: d.name.slice(0, 200) }));
  const base = { devices, ...(f.device ? { device: f.device } : {}) };
  if (f.devices.length === 0) return { state: 'missing', reason: reason('none-found', 'no camera found'), devices };
  if (f.failure) return { ...base, state: failureState(f.failure), reason: f.failure };
  const v = f.verdict;
  if (!v) return { ...base, state: 'ok' };
  const measured = {
    frames: v.frames,
    meanLuma: v.meanLuma,
    maxFrameDiff: v.maxFrameDiff,
    black: v.black,
    frozen: v.frozen,
  };
  if (v.frames === 0)
    return { ...base, measured, state: 'fault', reason: reason('open-failed', 'camera delivered no frames') };
  if (v.black)
    return { ...base, measured, state: 'fault', reason: reason('black', `picture is black (mean luma ${v.meanLuma})`) };
  if (v.frozen)
    return {
      ...base,
      measured,
      state: 'fault',
      reason: reason('frozen', `picture is frozen (${v.frames} identical frames)`),
    };
  return { ...base, measured, state: 'ok' };
}

export interface MicrophoneFindings {
  devices: MicrophoneDevice[];
  device?: string;
  verdict?: SoundVerdict;
  failure?: PeripheralReason;
}

export function microphoneHealth(f: MicrophoneFindings): MicrophoneHealth {
  const devices = f.devices.slice(0, 32).map((d) => ({ id: d.id.slice(0, 200), name: d.name.slice(0, 200) }));
  const base = { devices, ...(f.device ? { device: f.device } : {}) };
  if (f.devices.length === 0)
    return { state: 'missing', reason: reason('none-found', 'no capture sound device found'), devices };
  if (f.failure) return { ...base, state: failureState(f.failure), reason: f.failure };
  const v = f.verdict;
  if (!v) return { ...base, state: 'ok' };
  const measured = { ...v };
  if (v.seconds === 0)
    return { ...base, measured, state: 'fault', reason: reason('open-failed', 'microphone delivered no samples') };
  if (v.clipping)
    return {
      ...base,
      measured,
      state: 'fault',
      reason: reason('clipping', `microphone is clipping (peak ${v.peakDbfs} dBFS)`),
    };
  if (v.silent)
    return {
      ...base,
      measured,
      state: 'fault',
      reason: reason('silent', `microphone is silent (${v.rmsDbfs} dBFS RMS)`),
    };
  return { ...base, measured, state: 'ok' };
}

export function displayHealth(all: DrmConnector[], power: TvPower): DisplayHealth {
  const connectors = all.slice(0, 16);
  const base = { connectors, power };
  if (connectors.length === 0)
    return { ...base, state: 'missing', reason: reason('none-found', 'no display connector (no DRM driver)') };
  const connected = connectors.filter((c) => c.status === 'connected');
  if (connected.length === 0) {
    if (connectors.every((c) => c.status === 'unknown')) return { ...base, state: 'unknown' };
    return { ...base, state: 'missing', reason: reason('disconnected', 'no TV connected to any display connector') };
  }
  if (power === 'standby') return { ...base, state: 'fault', reason: reason('standby', 'TV is in standby') };
  return { ...base, state: 'ok' };
}

/** The cheap view for presence: take the states and reasons out of fuller reports. */
export function snapshotOf(parts: {
  camera: { state: Peripherals['camera']; reason?: PeripheralReason };
  microphone: { state: Peripherals['microphone']; reason?: PeripheralReason };
  display: { state: Peripherals['display']; reason?: PeripheralReason };
  gpio: { state: Peripherals['gpio']; reason?: PeripheralReason };
}): PeripheralsSnapshot {
  const peripherals: Peripherals = {
    camera: parts.camera.state,
    microphone: parts.microphone.state,
    display: parts.display.state,
    gpio: parts.gpio.state,
  };
  const reasons: PeripheralsSnapshot['reasons'] = {};
  for (const k of ['camera', 'microphone', 'display', 'gpio'] as const) {
    const r = parts[k].reason;
    if (r) reasons[k] = r;
  }
  return { peripherals, reasons };
}

/** A room can hold a meeting when camera, microphone and TV are fine; GPIO is a convenience. */
export const roomReady = (p: Peripherals): boolean => p.camera === 'ok' && p.microphone === 'ok' && p.display === 'ok';

/** Peripherals whose state differs between two snapshots (for change reports and alerts). */
export function changedPeripherals(prev: Peripherals | null, next: Peripherals): Array<keyof Peripherals> {
  const keys = ['camera', 'microphone', 'display', 'gpio'] as const;
  return prev === null ? [...keys] : keys.filter((k) => prev[k] !== next[k]);
}
