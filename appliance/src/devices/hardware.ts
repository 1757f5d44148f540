import { withDefaults, type DeepPartial, type HardwareOptions } from './config.js';
import { createGpio } from './gpio/gpio.js';
import { createOnoffPins, unavailablePins } from './gpio/onoff-pins.js';
import { MemoryPins, systemClock, type Clock, type PinFactory } from './gpio/pins.js';
import { ProcessRunner } from './process-runner.js';
import { createRealCamera } from './real/camera.js';
import { createCec } from './real/cec.js';
import { createRealDisplay } from './real/display.js';
import { createRealHost } from './real/host.js';
import { createRealMicrophone } from './real/microphone.js';
import { createRealPower } from './real/power.js';
import { quickSnapshot, runSelfTest, type LastVerdict, type Parts } from './selftest.js';
import {
  createSimCamera,
  createSimDisplay,
  createSimHost,
  createSimMicrophone,
  createSimPower,
} from './simulated/devices.js';
import { FaultSet, type FaultInjector } from './simulated/faults.js';
import type {
  Camera,
  CameraDevice,
  Hardware,
  HardwareKind,
  Log,
  Microphone,
  MicrophoneDevice,
  PowerRequest,
} from './types.js';

// The composition of the room's hardware: one call builds the real or the
// simulated set, as config says, and hands back everything the agent needs.
// Nothing is chosen by accident: there is no fallback from real to simulated.

export interface CreateHardwareOptions {
  kind: HardwareKind;
  log: Log;
  options?: DeepPartial<HardwareOptions>;
  clock?: Clock;
  /** Real hardware only: alternative ffmpeg inputs and pins (tests feed files and memory pins). */
  real?: {
    cameraInput?: (d: CameraDevice) => string[];
    microphoneInput?: (d: MicrophoneDevice) => string[];
    pins?: PinFactory;
  };
}

/** Simulated hardware, with the handles the simulator and tests drive it through. */
export interface SimulatedHardware extends Hardware {
  readonly kind: 'simulated';
  readonly faults: FaultInjector;
  readonly pins: MemoryPins;
  readonly powerRequests: readonly PowerRequest[];
}

export async function createHardware(opts: CreateHardwareOptions & { kind: 'simulated' }): Promise<SimulatedHardware>;
export async function createHardware(opts: CreateHardwareOptions): Promise<Hardware>;
export async function createHardware(opts: CreateHardwareOptions): Promise<Hardware> {
  const o = withDefaults(opts.options);
  const log = opts.log.child({ module: 'hardware', hardware: opts.kind });
  const clock = opts.clock ?? systemClock;
  return opts.kind === 'simulated' ? createSimulated(o, log, clock) : createReal(o, log, clock, opts.real ?? {});
}

async function createReal(
  o: HardwareOptions,
  log: Log,
  clock: Clock,
  real: NonNullable<CreateHardwareOptions['real']>,
): Promise<Hardware> {
  const runner = new ProcessRunner();
  const timing = o.capture;
  const parts: Parts = {
    kind: 'real',
    log,
    camera: createRealCamera({
      roots: o.roots,
      ffmpeg: o.bin.ffmpeg,
      runner,
      log,
      timing,
      thresholds: o.picture,
      input: real.cameraInput,
    }),
    microphone: createRealMicrophone({
      roots: o.roots,
      ffmpeg: o.bin.ffmpeg,
      runner,
      log,
      timing,
      thresholds: o.sound,
      input: real.microphoneInput,
      audioServer: o.audioServer ? { remote: o.audioServer, pwDump: o.bin.pwDump } : null,
    }),
    display: createRealDisplay({ roots: o.roots, cec: createCec({ bin: o.bin.cecClient, runner, log }), log }),
    gpio: createGpio({ pins: o.pins, factory: real.pins ?? (await realPins(o)), clock, log, source: 'button' }),
    host: createRealHost(log),
  };
  const power = createRealPower({ systemctl: o.bin.systemctl, agentUnit: o.agentUnit, runner, log });
  return assemble(parts, power, null, () => runner.close());
}

/** onoff is loaded only where pins are wired: most mini-PCs have none, and its native part may be absent. */
async function realPins(o: HardwareOptions): Promise<PinFactory> {
  const wired = o.pins.led !== null || o.pins.helpButton !== null || o.pins.tvRelay !== null;
  return wired ? createOnoffPins() : unavailablePins('no GPIO pins configured');
}

function createSimulated(o: HardwareOptions, log: Log, clock: Clock): SimulatedHardware {
  // Fixed pin numbers: the simulator presses the button through the fault API, not by number.
  const pinNumbers = { led: o.pins.led ?? 17, helpButton: o.pins.helpButton ?? 27, tvRelay: o.pins.tvRelay ?? 22 };
  const pins = new MemoryPins();
  const faults = new FaultSet(() => {
    pins.drive(pinNumbers.helpButton, 1);
    pins.drive(pinNumbers.helpButton, 0);
  }, o.simulated.faults);
  const gpio = createGpio({ pins: { ...o.pins, ...pinNumbers }, factory: pins, clock, log, source: 'simulated' });
  const syncGpio = () => {
    pins.available = !faults.has('gpio-absent');
    pins.why = pins.available ? undefined : 'simulated: GPIO absent';
  };
  syncGpio();
  faults.onChange(syncGpio);
  const power = createSimPower();
  const parts: Parts = {
    kind: 'simulated',
    log,
    camera: createSimCamera(faults, o.picture),
    microphone: createSimMicrophone(faults, o.sound),
    display: createSimDisplay(faults),
    gpio,
    host: createSimHost(o.simulated.serial),
  };
  const hw = assemble(parts, power, faults, () => {});
  return Object.assign(hw, { kind: 'simulated' as const, faults, pins, powerRequests: power.requests });
}

function assemble(
  parts: Parts,
  power: Hardware['power'],
  faults: FaultInjector | null,
  closeRunner: () => void,
): Hardware {
  // Capture faults stay visible in quick snapshots until the next capture (see quickState).
  const last: { camera: LastVerdict | null; microphone: LastVerdict | null } = { camera: null, microphone: null };
  const camera: Camera = {
    list: () => parts.camera.list(),
    async check() {
      const h = await parts.camera.check();
      last.camera = { device: h.device, state: h.state, reason: h.reason };
      return h;
    },
    lastFrame: () => parts.camera.lastFrame?.() ?? null,
  };
  const microphone: Microphone = {
    list: () => parts.microphone.list(),
    async check() {
      const h = await parts.microphone.check();
      last.microphone = { device: h.device, state: h.state, reason: h.reason };
      return h;
    },
  };
  const wrapped: Parts = { ...parts, camera, microphone };
  let closing: Promise<void> | null = null;
  // One self-test at a time: two captures of one camera or microphone would
  // make the second fail with "device busy" and report a healthy device as broken.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    kind: parts.kind,
    camera,
    microphone,
    display: parts.display,
    gpio: parts.gpio,
    power,
    host: parts.host,
    faults,
    selfTest(opts) {
      const run = queue.then(() => runSelfTest(wrapped, opts));
      queue = run.catch(() => {});
      return run;
    },
    peripherals: () => quickSnapshot(wrapped, last),
    async identify(ms) {
      parts.gpio.flashLed('identify', ms);
      let tv: 'done' | 'unsupported' = 'unsupported';
      try {
        tv = await parts.display.setPower(true);
      } catch (err) {
        parts.log.warn({ err }, 'identify: cannot turn the TV on');
      }
      return { tv, led: parts.gpio.available };
    },
    close() {
      closing ??= (async () => {
        closeRunner();
        await parts.gpio.close();
      })();
      return closing;
    },
  };
}
