import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsProblems, settingsSection, type Env } from '@diemcau/shared';
import { DEFAULT_PICTURE, DEFAULT_SOUND, type PictureThresholds, type SoundThresholds } from './analysis.js';
import { DEFAULT_PINS, type GpioPins } from './gpio/gpio.js';
import type { CaptureTiming } from './real/camera.js';
import { DEFAULT_ROOTS, type ScanRoots } from './real/scan.js';
import { FAULTS, type FaultName } from './simulated/faults.js';

// Hardware settings: defaults fit a Debian mini-PC; every host path and tool
// can be overridden from the environment (tests point the roots at fixture
// trees). The `devices` section of the agent's tree, read once by main.ts
// with the rest, every problem listed at once.

export interface HardwareOptions {
  roots: ScanRoots;
  bin: { ffmpeg: string; cecClient: string; systemctl: string; pwDump: string };
  /** The box's audio server (PipeWire socket) the microphone check records through when it has the card; null: never. */
  audioServer: string | null;
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
  bin: { ffmpeg: 'ffmpeg', cecClient: 'cec-client', systemctl: 'systemctl', pwDump: 'pw-dump' },
  audioServer: '/run/diemcau-audio/pipewire-0',
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
    audioServer: partial.audioServer === undefined ? d.audioServer : partial.audioServer,
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

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Partial<T[K]> : T[K];
};

// The defaults are DEFAULT_HARDWARE's (an unset key keeps it); the docs show them from there.
const shown = (v: unknown): string => `\`${v === null ? 'none' : String(v)}\``;
const D = DEFAULT_HARDWARE;
const Pin = (env: string, def: number | null, description: string) =>
  Type.Optional(
    Type.Union([Type.Integer({ minimum: 0, maximum: 1023 }), Type.Literal('none')], {
      env,
      docDefault: shown(def),
      description: `${description} (a GPIO line, or none)`,
    }),
  );
const Low = (env: string, def: boolean, description: string) =>
  Type.Optional(Type.Boolean({ env, docDefault: shown(def), description }));

/** The `devices` section of the agent's tree; unset keys keep DEFAULT_HARDWARE. */
export const DevicesSettingsSchema = settingsSection(
  {
    sysfsRoot: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_SYSFS_ROOT',
        docDefault: shown(D.roots.sys),
        description: 'sysfs root (tests point it at fixture trees)',
      }),
    ),
    procfsRoot: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_PROCFS_ROOT',
        docDefault: shown(D.roots.proc),
        description: 'procfs root',
      }),
    ),
    devRoot: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_DEV_ROOT',
        docDefault: shown(D.roots.dev),
        description: 'device nodes root',
      }),
    ),
    ffmpeg: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_FFMPEG_BIN',
        envDeprecated: ['DIEMCAU_FFMPEG'],
        docDefault: shown(D.bin.ffmpeg),
        description: 'ffmpeg for the camera and microphone checks (the edge reads the same name)',
      }),
    ),
    audioServer: Type.Optional(
      Type.Union([Type.String({ pattern: '^/[^,=\\s]{1,255}$' }), Type.Literal('none')], {
        env: 'DIEMCAU_AUDIO_SERVER',
        docDefault: shown(D.audioServer),
        description:
          "the box's audio server (PipeWire socket): the microphone check records through it when it has the card, which it holds while the edge records (none: always the ALSA device)",
      }),
    ),
    pwDump: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_PW_DUMP_BIN',
        docDefault: shown(D.bin.pwDump),
        description: "pw-dump that asks the audio server for the card's microphone (the edge reads the same name)",
      }),
    ),
    cecClient: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_CEC_CLIENT',
        docDefault: shown(D.bin.cecClient),
        description: 'HDMI-CEC tool for the TV',
      }),
    ),
    systemctl: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_SYSTEMCTL',
        docDefault: shown(D.bin.systemctl),
        description: 'systemctl used to restart units',
      }),
    ),
    agentUnit: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_AGENT_UNIT',
        docDefault: shown(D.agentUnit),
        description: 'unit restarted by "restart agent"',
      }),
    ),
    captureSeconds: Type.Optional(
      Type.Number({
        minimum: 0.2,
        maximum: 10,
        env: 'DIEMCAU_CAPTURE_SECONDS',
        docDefault: shown(D.capture.seconds),
        description: 'camera and microphone sample length',
      }),
    ),
    captureWarmupSeconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 10,
        env: 'DIEMCAU_CAPTURE_WARMUP_SECONDS',
        docDefault: shown(D.capture.warmupSeconds),
        description: 'discarded before sampling',
      }),
    ),
    micSilenceDbfs: Type.Optional(
      Type.Number({
        minimum: -120,
        maximum: 0,
        env: 'DIEMCAU_MIC_SILENCE_DBFS',
        docDefault: shown(D.sound.silenceDbfs),
        description: 'below this the microphone counts as silent',
      }),
    ),
    gpioLed: Pin('DIEMCAU_GPIO_LED', D.pins.led, 'status LED'),
    gpioHelpButton: Pin('DIEMCAU_GPIO_HELP_BUTTON', D.pins.helpButton, 'help button'),
    gpioTvRelay: Pin('DIEMCAU_GPIO_TV_RELAY', D.pins.tvRelay, 'TV power relay'),
    gpioLedActiveLow: Low('DIEMCAU_GPIO_LED_ACTIVE_LOW', D.pins.ledActiveLow, 'the LED lights on a low line'),
    gpioButtonActiveLow: Low('DIEMCAU_GPIO_BUTTON_ACTIVE_LOW', D.pins.buttonActiveLow, 'the button pulls the line low'),
    gpioRelayActiveLow: Low('DIEMCAU_GPIO_RELAY_ACTIVE_LOW', D.pins.relayActiveLow, 'the relay closes on a low line'),
    gpioRelayOffMs: Type.Optional(
      Type.Integer({
        minimum: 500,
        maximum: 60_000,
        env: 'DIEMCAU_GPIO_RELAY_OFF_MS',
        docDefault: shown(D.pins.relayOffMs),
        description: 'how long a power cycle keeps the TV off',
      }),
    ),
    simFaults: Type.Optional(
      Type.Array(Type.Union(FAULTS.map((f) => Type.Literal(f))), {
        env: 'DIEMCAU_SIM_FAULTS',
        docDefault: '(none)',
        description: 'simulated hardware: faults present from the start, comma-separated',
      }),
    ),
    simSerial: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_SIM_SERIAL',
        description:
          "simulated hardware: the serial the host reports, sent at enrolment like a box's DMI serial (unset: none sent)",
      }),
    ),
  },
  "the box's hardware: host paths, tools, capture, GPIO (devices/README.md)",
);
export type DevicesSettings = Static<typeof DevicesSettingsSchema>;

/** The hardware options from the tree's section; faults are checked by name here. */
export function hardwareOptionsFrom(s: DevicesSettings): { options: HardwareOptions; problems: string[] } {
  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const pin = (v: number | 'none' | undefined): number | null | undefined => (v === 'none' ? null : v);
  const options = withDefaults({
    roots: defined({ sys: s.sysfsRoot, proc: s.procfsRoot, dev: s.devRoot }),
    bin: defined({ ffmpeg: s.ffmpeg, cecClient: s.cecClient, systemctl: s.systemctl, pwDump: s.pwDump }),
    ...(s.audioServer === undefined ? {} : { audioServer: s.audioServer === 'none' ? null : s.audioServer }),
    agentUnit: s.agentUnit,
    capture: defined({ seconds: s.captureSeconds, warmupSeconds: s.captureWarmupSeconds }),
    sound: defined({ silenceDbfs: s.micSilenceDbfs }),
    pins: defined({
      led: pin(s.gpioLed),
      helpButton: pin(s.gpioHelpButton),
      tvRelay: pin(s.gpioTvRelay),
      ledActiveLow: s.gpioLedActiveLow,
      buttonActiveLow: s.gpioButtonActiveLow,
      relayActiveLow: s.gpioRelayActiveLow,
      relayOffMs: s.gpioRelayOffMs,
    }),
    simulated: defined({ faults: s.simFaults as FaultName[] | undefined, serial: s.simSerial }),
  });
  // Every check is the schema's (fault names included), so all come in one list.
  return { options, problems: [] };
}

const SectionOnly = Type.Object({ devices: DevicesSettingsSchema });

/**
 * The section read from an env object on its own, every problem listed (tests;
 * the agent reads its whole tree in main.ts).
 */
export function hardwareOptionsFromEnv(env: Env): { options: HardwareOptions; problems: string[] } {
  try {
    return hardwareOptionsFrom(loadSettings(SectionOnly, { env }, 'APPL_ERR_CONFIG').settings.devices);
  } catch (err) {
    return { options: withDefaults(), problems: settingsProblems(err) ?? [String(err)] };
  }
}
