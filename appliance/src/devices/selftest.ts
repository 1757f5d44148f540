import type {
  CameraHealth,
  DisplayHealth,
  GpioHealth,
  HostSummary,
  MicrophoneHealth,
  PeripheralReason,
  SelfTestResult,
} from '@diemcau/shared';
import type {
  Camera,
  Display,
  Gpio,
  HardwareKind,
  Host,
  Log,
  Microphone,
  PeripheralsSnapshot,
  SelfTestOptions,
} from './types.js';
import { roomReady, snapshotOf } from './verdicts.js';

// The self-test runs every check at once (camera and microphone capture in
// parallel, about a second each) and never throws: a check that blows up is
// reported as that peripheral's fault, with the reason, and the others still
// report. Quick snapshots reuse the last capture verdicts (see quickSnapshot).

export interface Parts {
  kind: HardwareKind;
  camera: Camera;
  microphone: Microphone;
  display: Display;
  gpio: Gpio;
  host: Host;
  log: Log;
}

const crashed = (err: unknown): PeripheralReason => ({
  code: 'error',
  message: `check failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500),
});

async function guard<T>(
  log: Log,
  what: string,
  run: () => Promise<T>,
  fallback: (r: PeripheralReason) => T,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    log.error({ err, what }, 'self-test check threw');
    return fallback(crashed(err));
  }
}

export async function runSelfTest(parts: Parts, opts: SelfTestOptions = {}): Promise<SelfTestResult> {
  const log = parts.log.child({ part: 'self-test' });
  const startedAt = new Date().toISOString();
  const [camera, microphone, display, host] = await Promise.all([
    guard<CameraHealth>(
      log,
      'camera',
      () => parts.camera.check(),
      (reason) => ({ state: 'fault', reason, devices: [] }),
    ),
    guard<MicrophoneHealth>(
      log,
      'microphone',
      () => parts.microphone.check(),
      (reason) => ({ state: 'fault', reason, devices: [] }),
    ),
    guard<DisplayHealth>(
      log,
      'display',
      () => parts.display.check(),
      (reason) => ({ state: 'fault', reason, connectors: [], power: 'unknown' }),
    ),
    opts.withHost === false
      ? Promise.resolve(undefined)
      : guard<HostSummary | undefined>(
          log,
          'host',
          () => parts.host.summary(),
          () => undefined,
        ),
  ]);
  const gpio: GpioHealth = parts.gpio.health();
  const { peripherals } = snapshotOf({ camera, microphone, display, gpio });
  const result: SelfTestResult = {
    v: 1,
    kind: 'self-test',
    ...(opts.commandId ? { commandId: opts.commandId } : {}),
    startedAt,
    finishedAt: new Date().toISOString(),
    hardware: parts.kind,
    ok: roomReady(peripherals),
    peripherals,
    camera,
    microphone,
    display,
    gpio,
    ...(host ? { host } : {}),
  };
  log.info({ ok: result.ok, peripherals }, 'self-test finished');
  return result;
}

/** What a capture check last found for the device it looked at. */
export interface LastVerdict {
  device: string | undefined;
  state: CameraHealth['state'];
  reason?: PeripheralReason;
}

/**
 * A capture fault (black, frozen, silent, clipping) cannot be seen without
 * capturing, so a quick snapshot keeps it while the same device is still the
 * one in use; a different or re-plugged device starts clean.
 */
export function quickState(
  firstDevice: string | undefined,
  last: LastVerdict | null,
): { state: CameraHealth['state']; reason?: PeripheralReason } {
  if (firstDevice === undefined)
    return { state: 'missing', reason: { code: 'none-found', message: 'no device found' } };
  if (last && last.device === firstDevice && last.state === 'fault' && last.reason)
    return { state: 'fault', reason: last.reason };
  return { state: 'ok' };
}

export async function quickSnapshot(
  parts: Parts,
  last: { camera: LastVerdict | null; microphone: LastVerdict | null },
): Promise<PeripheralsSnapshot> {
  const [cams, mics, display] = await Promise.all([
    parts.camera.list().catch(() => []),
    parts.microphone.list().catch(() => []),
    parts.display.check({ power: false }).catch((err: unknown): DisplayHealth => ({
      state: 'unknown',
      reason: crashed(err),
      connectors: [],
      power: 'unknown',
    })),
  ]);
  const camera = quickState(cams[0]?.node, last.camera);
  const microphone = quickState(mics[0]?.id, last.microphone);
  if (camera.reason?.code === 'none-found') camera.reason.message = 'no camera found';
  if (microphone.reason?.code === 'none-found') microphone.reason.message = 'no capture sound device found';
  return snapshotOf({ camera, microphone, display, gpio: parts.gpio.health() });
}
