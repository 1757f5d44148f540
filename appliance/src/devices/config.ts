import { DEFAULT_PICTURE, DEFAULT_SOUND, type PictureThresholds, type SoundThresholds } from './analysis.js';
import { DEFAULT_PINS, type GpioPins } from './gpio/gpio.js';
import type { CaptureTiming } from './real/camera.js';
import { DEFAULT_ROOTS, type ScanRoots } from './real/scan.js';
import { parseFaults, type FaultName } from './simulated/faults.js';

// Hardware settings: defaults fit a Debian mini-PC; every host path and tool
// can be overridden from the environment (tests point the roots at fixture
// trees). Read once at start; every problem is listed at once.

export interface HardwareOptions {
  roots: ScanRoots;
  bin: { ffmpeg: string; cecClient: string; systemctl: string };
  /** systemd unit restarted by "restart agent". */
  agentUnit: string;
  capture: CaptureTiming;
  picture: PictureThresholds;
  sound: SoundThresholds;
  pins: GpioPins;
  /** Simulated hardware only: faults present from the start, and the serial the host reports. */
  simulated: { faults: FaultName[]; serial: string };
}

export const DEFAULT_HARDWARE: HardwareOptions = {
  roots: DEFAULT_ROOTS,
  bin: { ffmpeg: 'ffmpeg', cecClient: 'cec-client', systemctl: 'systemctl' },
  agentUnit: 'diemcau-agent.service',
  capture: { seconds: 1, warmupSeconds: 0.5, timeoutMs: 15_000 },
  picture: DEFAULT_PICTURE,
  sound: DEFAULT_SOUND,
  pins: DEFAULT_PINS,
  simulated: { faults: [], serial: 'SIM-0001' },
};

/** Deep-enough merge of partial options over the defaults (one level of nesting is all there is). */
export function withDefaults(partial: DeepPartial<HardwareOptions> = {}): HardwareOptions {
  const d = DEFAULT_HARDWARE;
  return {
    roots: { ...d.roots, ...partial.roots },
    bin: { ...d.bin, ...partial.bin },
    agentUnit: partial.agentUnit ?? d.agentUnit,
    capture: { ...d.capture, ...partial.capture },
    picture: { ...d.picture, ...partial.picture },
    sound: { ...d.sound, ...partial.sound },
    pins: { ...d.pins, ...partial.pins },
    simulated: {
      faults: [...(partial.simulated?.faults ?? d.simulated.faults)] as FaultName[],
      serial: partial.simulated?.serial ?? d.simulated.serial,
    },
  };
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Partial<T[K]> : T[K] };

type Env = Record<string, string | undefined>;

/** Reads DIEMCAU_* hardware variables over the defaults. */
export function hardwareOptionsFromEnv(env: Env): { options: HardwareOptions; problems: string[] } {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const num = (name: string, min: number, max: number, integer: boolean): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push(`${name}: must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return n;
  };
  const bool = (name: string): boolean | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    if (['1', 'true', 'yes'].includes(v)) return true;
    if (['0', 'false', 'no'].includes(v)) return false;
    problems.push(`${name}: must be true or false, got ${JSON.stringify(v)}`);
    return undefined;
  };
  /** A GPIO line number, or "none" to say the pin is not wired. */
  const pin = (name: string): number | null | undefined => (str(name) === 'none' ? null : num(name, 0, 1023, true));
  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

  const faultText = str('DIEMCAU_SIM_FAULTS');
  const faults = faultText === undefined ? undefined : parseFaults(faultText);
  if (faults) problems.push(...faults.problems.map((p) => `DIEMCAU_SIM_FAULTS: ${p}`));

  const options = withDefaults({
    roots: defined({ sys: str('DIEMCAU_SYSFS_ROOT'), proc: str('DIEMCAU_PROCFS_ROOT'), dev: str('DIEMCAU_DEV_ROOT') }),
    bin: defined({ ffmpeg: str('DIEMCAU_FFMPEG'), cecClient: str('DIEMCAU_CEC_CLIENT'), systemctl: str('DIEMCAU_SYSTEMCTL') }),
    agentUnit: str('DIEMCAU_AGENT_UNIT'),
    capture: defined({
      seconds: num('DIEMCAU_CAPTURE_SECONDS', 0.2, 10, false),
      warmupSeconds: num('DIEMCAU_CAPTURE_WARMUP_SECONDS', 0, 10, false),
    }),
    sound: defined({ silenceDbfs: num('DIEMCAU_MIC_SILENCE_DBFS', -120, 0, false) }),
    pins: defined({
      led: pin('DIEMCAU_GPIO_LED'),
      helpButton: pin('DIEMCAU_GPIO_HELP_BUTTON'),
      tvRelay: pin('DIEMCAU_GPIO_TV_RELAY'),
      ledActiveLow: bool('DIEMCAU_GPIO_LED_ACTIVE_LOW'),
      buttonActiveLow: bool('DIEMCAU_GPIO_BUTTON_ACTIVE_LOW'),
      relayActiveLow: bool('DIEMCAU_GPIO_RELAY_ACTIVE_LOW'),
      relayOffMs: num('DIEMCAU_GPIO_RELAY_OFF_MS', 500, 60_000, true),
    }),
    simulated: defined({ faults: faults?.faults, serial: str('DIEMCAU_SIM_SERIAL') }),
  });
  return { options, problems };
}
