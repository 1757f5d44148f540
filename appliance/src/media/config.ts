// Edge configuration: read once from the environment, defaults in the schema,
// every problem reported at once. Simulated hardware is only ever chosen by
// DIEMCAU_EDGE_HARDWARE=simulated: a real box never shows a test pattern by accident.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DiemcauError } from '@diemcau/shared';
import type { CaptureConfig } from './ffmpeg/args.js';

const Port = (def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def });

export const EdgeConfigSchema = Type.Object({
  edgeId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  role: Type.Union([Type.Literal('site'), Type.Literal('core')], { default: 'site' }),
  /** Signalling API address; port 0 picks a free port (tests). */
  host: Type.String({ default: '127.0.0.1' }),
  port: Port(7443),
  adminToken: Type.String({ minLength: 16 }),
  /** Token for the join page (browsers in the room); defaults to the admin token. */
  joinToken: Type.Optional(Type.String({ minLength: 16 })),
  /** RTP: where the worker binds, and what peers are told to send to. */
  listenIp: Type.String({ default: '127.0.0.1' }),
  announcedIp: Type.Optional(Type.String({ minLength: 1 })),
  rtcMinPort: Port(40000),
  rtcMaxPort: Port(49999),
  /** 'none': no room of its own (the core). */
  hardware: Type.Union([Type.Literal('real'), Type.Literal('simulated'), Type.Literal('none')], { default: 'real' }),
  videoDevice: Type.String({ default: '/dev/video0' }),
  audioDevice: Type.String({ default: 'default' }),
  width: Type.Optional(Type.Integer({ minimum: 16, maximum: 1920 })),
  height: Type.Optional(Type.Integer({ minimum: 16, maximum: 1080 })),
  fps: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })),
  videoCodec: Type.Optional(Type.Union([Type.Literal('vp8'), Type.Literal('h264')])),
  videoKbps: Type.Optional(Type.Integer({ minimum: 50, maximum: 8000 })),
  audioKbps: Type.Integer({ minimum: 8, maximum: 256, default: 32 }),
  /** Simulated microphone only: a tone at the site's own pitch that rises and falls like speech, or silence. */
  simVoice: Type.Union([Type.Literal('tone'), Type.Literal('silent')], { default: 'tone' }),
  ffmpegBin: Type.String({ default: 'ffmpeg' }),
  /** A media plan file to apply at start and whenever it changes (the core, demos). */
  planFile: Type.Optional(Type.String({ minLength: 1 })),
  logLevel: Type.String({ default: 'info' }),
  /** The agent's data dir: the kiosk page reads the box's identity (site name) from it. */
  dataDir: Type.String({ minLength: 1, default: '/var/lib/diemcau' }),
  /** Where the agent writes the identify card; default {dataDir}/kiosk. */
  kioskDir: Type.Optional(Type.String({ minLength: 1 })),
});
export type EdgeConfig = Static<typeof EdgeConfigSchema>;

const ENV: Record<keyof EdgeConfig, string> = {
  edgeId: 'DIEMCAU_EDGE_ID',
  role: 'DIEMCAU_EDGE_ROLE',
  host: 'DIEMCAU_EDGE_HOST',
  port: 'DIEMCAU_EDGE_PORT',
  adminToken: 'DIEMCAU_EDGE_ADMIN_TOKEN',
  joinToken: 'DIEMCAU_EDGE_JOIN_TOKEN',
  listenIp: 'DIEMCAU_EDGE_LISTEN_IP',
  announcedIp: 'DIEMCAU_EDGE_ANNOUNCED_IP',
  rtcMinPort: 'DIEMCAU_EDGE_RTC_MIN_PORT',
  rtcMaxPort: 'DIEMCAU_EDGE_RTC_MAX_PORT',
  hardware: 'DIEMCAU_EDGE_HARDWARE',
  videoDevice: 'DIEMCAU_EDGE_VIDEO_DEVICE',
  audioDevice: 'DIEMCAU_EDGE_AUDIO_DEVICE',
  width: 'DIEMCAU_EDGE_WIDTH',
  height: 'DIEMCAU_EDGE_HEIGHT',
  fps: 'DIEMCAU_EDGE_FPS',
  videoCodec: 'DIEMCAU_EDGE_VIDEO_CODEC',
  videoKbps: 'DIEMCAU_EDGE_VIDEO_KBPS',
  audioKbps: 'DIEMCAU_EDGE_AUDIO_KBPS',
  simVoice: 'DIEMCAU_EDGE_SIM_VOICE',
  ffmpegBin: 'DIEMCAU_FFMPEG_BIN',
  planFile: 'DIEMCAU_EDGE_PLAN_FILE',
  logLevel: 'LOG_LEVEL',
  dataDir: 'DIEMCAU_DATA_DIR',
  kioskDir: 'DIEMCAU_KIOSK_DIR',
};

const NUMERIC = new Set<keyof EdgeConfig>(['port', 'rtcMinPort', 'rtcMaxPort', 'width', 'height', 'fps', 'videoKbps', 'audioKbps']);

export function loadEdgeConfig(env: NodeJS.ProcessEnv): EdgeConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV) as Array<[keyof EdgeConfig, string]>) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    raw[key] = NUMERIC.has(key) && /^-?\d+$/.test(v) ? Number(v) : v;
  }
  const withDefaults = Value.Default(EdgeConfigSchema, raw);
  const problems = [...Value.Errors(EdgeConfigSchema, withDefaults)].map((e) => {
    const key = e.path.replace(/^\//, '') as keyof EdgeConfig;
    return `${ENV[key] ?? e.path}: ${e.message}`;
  });
  const cfg = withDefaults as EdgeConfig;
  if (problems.length === 0 && cfg.rtcMinPort > cfg.rtcMaxPort) problems.push('DIEMCAU_EDGE_RTC_MIN_PORT is above DIEMCAU_EDGE_RTC_MAX_PORT');
  if (problems.length > 0) throw new DiemcauError('APPL_ERR_CONFIG', problems.join('; '), { details: problems });
  return cfg;
}

/**
 * What ffmpeg captures. A real room kit sends 1080p30 H.264; the simulated one
 * is scaled down (320x240 at 15 fps, VP8) so several edges fit on a small machine.
 */
export function captureConfig(cfg: EdgeConfig): CaptureConfig | null {
  if (cfg.hardware === 'none') return null;
  const real = cfg.hardware === 'real';
  return {
    hardware: cfg.hardware,
    videoDevice: cfg.videoDevice,
    audioDevice: cfg.audioDevice,
    width: cfg.width ?? (real ? 1920 : 320),
    height: cfg.height ?? (real ? 1080 : 240),
    fps: cfg.fps ?? (real ? 30 : 15),
    videoCodec: cfg.videoCodec ?? (real ? 'h264' : 'vp8'),
    videoKbps: cfg.videoKbps ?? (real ? 2500 : 300),
    audioKbps: cfg.audioKbps,
    voice: cfg.simVoice,
  };
}
