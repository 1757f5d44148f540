import type {
  CameraHealth,
  DisplayHealth,
  GpioHealth,
  HelpRequestedEvent,
  HostSummary,
  LedPatternName,
  MicrophoneHealth,
  Peripherals,
  PeripheralReason,
  SelfTestResult,
  TvPower,
} from '@diemcau/shared';
import type { FaultInjector } from './simulated/faults.js';

// The room's hardware as the rest of the agent sees it. Every interface has a
// real implementation (sysfs, procfs, ffmpeg, cec-client, onoff, systemd) and a
// simulated one; which one runs is chosen by config in createHardware().

export type HardwareKind = 'real' | 'simulated';

/** The small part of pino every module here uses, so tests can pass a recorder. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

export interface CameraDevice {
  /** Device node, e.g. /dev/video0. */
  node: string;
  name: string;
}

export interface Camera {
  /** Capture devices present now; an empty list (never an error) when there is none. */
  list(): Promise<CameraDevice[]>;
  /** Grabs about a second of picture from the first camera and judges it. */
  check(): Promise<CameraHealth>;
  /** The last picture the check took (small, grey), for the readiness check's snapshot of the room; null before one. */
  lastFrame?(): GreyFrame | null;
}

/** One picture as the checks capture it: `w`×`h` bytes of luma, row by row. */
export interface GreyFrame {
  w: number;
  h: number;
  grey: Uint8Array;
}

export interface MicrophoneDevice {
  /** ALSA name usable by ffmpeg/arecord, e.g. hw:1,0. */
  id: string;
  name: string;
}

export interface Microphone {
  list(): Promise<MicrophoneDevice[]>;
  /** Records about a second from the first capture device and measures it. */
  check(): Promise<MicrophoneHealth>;
}

export interface Display {
  /**
   * HDMI connectors and what DRM says about them; no error when there is no DRM at all.
   * `power: false` skips the (slow) CEC query and reports the last known TV power.
   */
  check(opts?: { power?: boolean }): Promise<DisplayHealth>;
  /** Turns the TV on or to standby over HDMI-CEC; 'unsupported' where the host has no CEC. */
  setPower(on: boolean): Promise<'done' | 'unsupported'>;
  power(): Promise<TvPower>;
}

export interface Gpio {
  /** False where the host has no GPIO; every call below is then a harmless no-op. */
  readonly available: boolean;
  setLed(pattern: LedPatternName): void;
  /** Shows `pattern` for `ms`, then goes back to the pattern set last. */
  flashLed(pattern: LedPatternName, ms: number): void;
  /** Switches the TV's mains relay off and on again; 'unsupported' with no relay configured. */
  powerCycleTv(): Promise<'done' | 'unsupported'>;
  /** Called once per press of the "call the province" button. Returns an unsubscribe function. */
  onHelp(listener: (event: HelpRequestedEvent) => void): () => void;
  health(): GpioHealth;
  close(): Promise<void>;
}

export type PowerAction = 'reboot' | 'restart-agent';

export interface PowerRequest {
  action: PowerAction;
  reason: string;
  at: string;
}

export interface Power {
  /** Asks systemd to reboot the box. Resolves once the request is accepted, not when it reboots. */
  reboot(reason: string): Promise<void>;
  /** Asks systemd to restart the agent's unit (the agent is stopped by it). */
  restartAgent(reason: string): Promise<void>;
  onRequest(listener: (req: PowerRequest) => void): () => void;
}

export interface Host {
  summary(): Promise<HostSummary>;
}

export interface PeripheralsSnapshot {
  peripherals: Peripherals;
  reasons: Partial<Record<keyof Peripherals, PeripheralReason>>;
}

export interface SelfTestOptions {
  commandId?: string;
  /** Skip the host summary (systeminformation is slow on some boxes). */
  withHost?: boolean;
}

/** What createHardware() returns: everything the agent and the commands pipeline need. */
export interface Hardware {
  readonly kind: HardwareKind;
  readonly camera: Camera;
  readonly microphone: Microphone;
  readonly display: Display;
  readonly gpio: Gpio;
  readonly power: Power;
  readonly host: Host;
  /** Present only on simulated hardware. */
  readonly faults: FaultInjector | null;
  /** Runs every check (camera and microphone capture about a second each) and reports. */
  selfTest(opts?: SelfTestOptions): Promise<SelfTestResult>;
  /** Cheap states for presence and change reports: enumeration and connector status, no capture. */
  peripherals(): Promise<PeripheralsSnapshot>;
  /** TV on (where CEC exists) and the LED blinking for `ms`; the kiosk shows the site's name. */
  identify(ms: number): Promise<{ tv: 'done' | 'unsupported'; led: boolean }>;
  close(): Promise<void>;
}
