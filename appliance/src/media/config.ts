// Edge configuration: read once from the environment by main.ts through the
// shared settings loader, defaults in the schema, every problem reported at once. Simulated hardware is only ever chosen by
// DIEMCAU_EDGE_HARDWARE=simulated: a real box never shows a test pattern by accident.
import { timingSafeEqual } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { DiemcauError, loadSettings, settingsMarkdown, type Env } from '@diemcau/shared';
import { parseCidrList } from './addresses.js';
import type { CaptureConfig } from './ffmpeg/args.js';
import type { PeerLimits } from './limits.js';
import { MIN_PORTS_PER_WORKER, workerSlices } from './adapter/slices.js';

const Port = (def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def });

export const EdgeConfigSchema = Type.Object({
  edgeId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  role: Type.Union([Type.Literal('site'), Type.Literal('core')], { default: 'site' }),
  /** Signalling API address; port 0 picks a free port (tests). */
  host: Type.String({ default: '127.0.0.1' }),
  port: Port(7443),
  adminToken: Type.String({ minLength: 16 }),
  /**
   * A fixed token for browsers, for an edge without a fleet (a lab, tests,
   * benchmarks): browser-peer routes only, never equal to the admin token.
   * Unset (a box): browsers join only by a fleet-signed join link.
   */
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
  echoCancel: Type.Union([Type.Literal('auto'), Type.Literal('off')], { default: 'auto' }),
  // Both go into an ALSA device name (pipewire:SERVER=...,NODE=...): no commas or equals signs.
  echoSource: Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$', default: 'diemcau-aec-source' }),
  pipewireRemote: Type.String({ pattern: '^/[^,=\\s]{1,255}$', default: '/run/diemcau-audio/pipewire-0' }),
  pwDumpBin: Type.String({ minLength: 1, default: 'pw-dump' }),
  width: Type.Optional(Type.Integer({ minimum: 16, maximum: 1920 })),
  height: Type.Optional(Type.Integer({ minimum: 16, maximum: 1080 })),
  fps: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })),
  videoCodec: Type.Optional(Type.Union([Type.Literal('vp8'), Type.Literal('h264')])),
  videoKbps: Type.Optional(Type.Integer({ minimum: 50, maximum: 8000 })),
  smallKbps: Type.Optional(Type.Integer({ minimum: 0, maximum: 2000 })),
  audioKbps: Type.Integer({ minimum: 8, maximum: 256, default: 32 }),
  /** Simulated microphone only: a tone at the site's own pitch that rises and falls like speech, or silence. */
  simVoice: Type.Union([Type.Literal('tone'), Type.Literal('silent')], { default: 'tone' }),
  ffmpegBin: Type.String({ default: 'ffmpeg' }),
  videoSender: Type.Union([Type.Literal('gstreamer'), Type.Literal('ffmpeg')], { default: 'gstreamer' }),
  gstLaunchBin: Type.String({ default: 'gst-launch-1.0' }),
  cameraFormat: Type.Union([Type.Literal('auto'), Type.Literal('mjpeg'), Type.Literal('h264'), Type.Literal('raw')], {
    default: 'auto',
  }),
  /** A media plan file to apply at start and whenever it changes (the core, demos). */
  planFile: Type.Optional(Type.String({ minLength: 1 })),
  logLevel: Type.String({ default: 'info' }),
  /** The agent's data dir: the kiosk page reads the box's identity (site name) from it. */
  dataDir: Type.String({ minLength: 1, default: '/var/lib/diemcau' }),
  /** Where the agent writes the identify card; default {dataDir}/kiosk. */
  kioskDir: Type.Optional(Type.String({ minLength: 1 })),
  /** Where taps (plain RTP out, admin only) may send: addresses or CIDRs, comma-separated. */
  tapAllow: Type.String({ minLength: 1, default: '127.0.0.0/8,::1/128' }),
  // Per-peer limits (limits.ts). A join token may hold at most half the RTP
  // ports (checked below), so links and the room's own streams always find one.
  maxPeers: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  maxPeersPerToken: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
  maxTransportsPerPeer: Type.Integer({ minimum: 2, maximum: 16, default: 4 }),
  maxProducersPerPeer: Type.Integer({ minimum: 0, maximum: 16, default: 4 }),
  /** A browser consumes every stream of the meeting: two per site, and a meeting has up to 210 sites. */
  maxConsumersPerPeer: Type.Integer({ minimum: 1, maximum: 4096, default: 512 }),
  /**
   * All peers of one token together. bench:abuse-edge measured a flood that
   * reached 2048 consumers at about 53 MiB of growth (edge and worker): the
   * default keeps one token under the 64 MiB the issue allows; a 210-site
   * meeting (420 streams) still fits four laptops.
   */
  maxConsumersPerToken: Type.Integer({ minimum: 1, maximum: 100_000, default: 2048 }),
  /**
   * Streams another edge may announce over one link: every site behind it
   * sends two or three with its small picture (a 210-site meeting, 630) and each browser a few.
   */
  maxStreamsPerLink: Type.Integer({ minimum: 2, maximum: 10_000, default: 1024 }),
  /** Signalling sockets open at once, and from one address (a district's NAT carries its communes). */
  maxConnections: Type.Integer({ minimum: 1, maximum: 65_535, default: 2048 }),
  maxConnectionsPerAddress: Type.Integer({ minimum: 1, maximum: 65_535, default: 256 }),
  /** A peer that connected no transport within this time is closed. */
  peerIdleMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
  /** mediasoup workers (one process, one core each); unset: one per core. Each gets a slice of the RTP ports. */
  workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  /** Transports plus consumers of one meeting on one worker beyond which it spans another worker. */
  workerSpanAt: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
  /** Signalling over HTTPS: a certificate issued by the province's CA and its key (both or neither). */
  tlsCert: Type.Optional(Type.String({ minLength: 1 })),
  tlsKey: Type.Optional(Type.String({ minLength: 1 })),
  /** The CA that issued other edges' certificates (the upstream's); default: the box's stored CA. */
  caFile: Type.Optional(Type.String({ minLength: 1 })),
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
  echoCancel: 'DIEMCAU_EDGE_ECHO_CANCEL',
  echoSource: 'DIEMCAU_EDGE_ECHO_SOURCE',
  pipewireRemote: 'DIEMCAU_EDGE_PIPEWIRE_REMOTE',
  pwDumpBin: 'DIEMCAU_PW_DUMP_BIN',
  width: 'DIEMCAU_EDGE_WIDTH',
  height: 'DIEMCAU_EDGE_HEIGHT',
  fps: 'DIEMCAU_EDGE_FPS',
  videoCodec: 'DIEMCAU_EDGE_VIDEO_CODEC',
  videoKbps: 'DIEMCAU_EDGE_VIDEO_KBPS',
  smallKbps: 'DIEMCAU_EDGE_SMALL_KBPS',
  audioKbps: 'DIEMCAU_EDGE_AUDIO_KBPS',
  simVoice: 'DIEMCAU_EDGE_SIM_VOICE',
  ffmpegBin: 'DIEMCAU_FFMPEG_BIN',
  videoSender: 'DIEMCAU_EDGE_VIDEO_SENDER',
  gstLaunchBin: 'DIEMCAU_GST_LAUNCH_BIN',
  cameraFormat: 'DIEMCAU_EDGE_CAMERA_FORMAT',
  planFile: 'DIEMCAU_EDGE_PLAN_FILE',
  logLevel: 'DIEMCAU_LOG_LEVEL',
  dataDir: 'DIEMCAU_DATA_DIR',
  kioskDir: 'DIEMCAU_KIOSK_DIR',
  tapAllow: 'DIEMCAU_EDGE_TAP_ALLOW',
  maxPeers: 'DIEMCAU_EDGE_MAX_PEERS',
  maxPeersPerToken: 'DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN',
  maxTransportsPerPeer: 'DIEMCAU_EDGE_MAX_TRANSPORTS_PER_PEER',
  maxProducersPerPeer: 'DIEMCAU_EDGE_MAX_PRODUCERS_PER_PEER',
  maxConsumersPerPeer: 'DIEMCAU_EDGE_MAX_CONSUMERS_PER_PEER',
  maxConsumersPerToken: 'DIEMCAU_EDGE_MAX_CONSUMERS_PER_TOKEN',
  maxStreamsPerLink: 'DIEMCAU_EDGE_MAX_STREAMS_PER_LINK',
  maxConnections: 'DIEMCAU_EDGE_MAX_CONNECTIONS',
  maxConnectionsPerAddress: 'DIEMCAU_EDGE_MAX_CONNECTIONS_PER_ADDRESS',
  peerIdleMs: 'DIEMCAU_EDGE_PEER_IDLE_MS',
  workers: 'DIEMCAU_EDGE_WORKERS',
  workerSpanAt: 'DIEMCAU_EDGE_WORKER_SPAN_AT',
  tlsCert: 'DIEMCAU_EDGE_TLS_CERT',
  tlsKey: 'DIEMCAU_EDGE_TLS_KEY',
  caFile: 'DIEMCAU_CA_FILE',
};

/** What each setting does, for the README's table (npm run docs:settings); a key without one does not compile. */
const DESCRIPTIONS: Record<keyof EdgeConfig, string> = {
  edgeId:
    "the edge's id on the broker; unset on a site: the box's device id from the agent's identity (`unenrolled` until then)",
  role: '`site` (a box with its room) or `core` (the province server)',
  host: 'signalling API address',
  port: 'signalling API port (0 = any free port)',
  adminToken: 'token of the agent and other edges (plans, links, taps, stats)',
  joinToken:
    'a fixed token for browsers on an edge without a fleet (a lab, tests, benchmarks; browser-peer routes only; never the admin token); unset: browsers join only with a join link the fleet signed for the meeting and this site',
  listenIp: 'where the worker binds RTP',
  announcedIp: 'the address peers are told to send RTP to (behind NAT)',
  rtcMinPort: 'lowest RTP port',
  rtcMaxPort: 'highest RTP port',
  hardware: '`real` camera and microphone, `simulated` test pattern and tone, or `none` (no room: the core)',
  videoDevice: 'V4L2 camera device',
  audioDevice: 'ALSA capture device (the raw microphone; used when the echo-cancelled source is off or missing)',
  echoCancel:
    "`auto`: a real room sends its microphone through the box's echo canceller (the TV's sound taken out) when the audio server offers the source, else the raw device with a warning in the log saying why; `off`: always the raw device",
  echoSource: "the audio server's echo-cancelled microphone (PipeWire node, set up by the image)",
  pipewireRemote: "the box's audio server (PipeWire socket)",
  pwDumpBin: 'pw-dump that asks the audio server for the echo-cancelled source',
  width: 'capture width; unset: 1920 real, 320 simulated',
  height: 'capture height; unset: 1080 real, 240 simulated',
  fps: 'capture frame rate; unset: 30 real, 15 simulated',
  videoCodec: '`vp8` or `h264`; unset: h264 real, vp8 simulated',
  videoKbps: 'video bitrate; unset: 2500 real, 300 simulated',
  smallKbps:
    'bitrate of the small picture the gstreamer sender adds for thumbnails (320x180 for a 1080p camera); 0: full size only; unset: 150 real, 0 simulated',
  audioKbps: 'audio bitrate',
  simVoice: 'simulated microphone: a tone rising and falling like speech, or `silent`',
  ffmpegBin: 'ffmpeg that captures the room (the agent reads the same name)',
  videoSender:
    'who sends the camera: gstreamer answers keyframe requests (a new speaker or a joining TV gets a picture at once); ffmpeg waits for its next periodic keyframe',
  gstLaunchBin: 'gst-launch-1.0 that sends the camera',
  cameraFormat:
    'what a real camera is asked for: auto asks the camera and takes the capture size and rate in MJPEG, else its H.264, else raw (raw 1080p over USB 2 gives about 5 frames a second); `npm run check:room` on the box prints what the camera offers and what auto picks',
  planFile: 'a media plan file applied at start and whenever it changes (the core, demos)',
  logLevel: 'pino log level',
  dataDir: "the agent's data dir: the kiosk page reads the box's identity from it",
  kioskDir: 'where the agent writes the identify card; unset: `<data dir>/kiosk`',
  tapAllow: 'where taps (plain RTP out, admin only) may send: addresses or CIDRs, comma-separated',
  maxPeers: 'peers at once',
  maxPeersPerToken: 'peers of one join token (its transports may hold at most half the RTP ports)',
  maxTransportsPerPeer: 'transports per peer',
  maxProducersPerPeer: 'producers per peer',
  maxConsumersPerPeer: 'consumers per peer (a browser consumes every stream of the meeting: two per site)',
  maxConsumersPerToken: "consumers of one token's peers together",
  maxStreamsPerLink: 'streams another edge may announce over one link',
  maxConnections: 'signalling sockets open at once',
  maxConnectionsPerAddress: "signalling sockets from one address (a district's NAT carries its communes)",
  peerIdleMs: 'a peer that connected no transport within this time is closed',
  workers:
    "mediasoup workers (one process, one core each), each with a slice of the RTP ports; unset: one per core, as many as the range has twice a join token's transports for",
  workerSpanAt: 'transports plus consumers of one meeting on one worker beyond which it spans another worker',
  tlsCert: "signalling over HTTPS: a certificate issued by the province's CA (with the key)",
  tlsKey: 'the private key of that certificate',
  caFile: "the CA that issued other edges' certificates; unset: the box's stored CA",
};

/** Names the edge used before the programs agreed on one: read for one release, with a warning at start. */
const DEPRECATED: Partial<Record<keyof EdgeConfig, string[]>> = { logLevel: ['LOG_LEVEL'] };

/** The schema with each setting's variable and description beside it, as the shared loader and the docs read it. */
export const EdgeSettingsSchema = Type.Object(
  Object.fromEntries(
    Object.entries(EdgeConfigSchema.properties).map(([k, schema]) => {
      const key = k as keyof EdgeConfig;
      return [
        k,
        {
          ...schema,
          env: ENV[key],
          description: DESCRIPTIONS[key],
          ...(DEPRECATED[key] ? { envDeprecated: DEPRECATED[key] } : {}),
        },
      ];
    }),
  ) as unknown as typeof EdgeConfigSchema.properties,
);

/** The edge's settings and the deprecation warnings to log; throws APPL_ERR_CONFIG listing every problem. */
export function loadEdgeSettings(env: Env): { config: EdgeConfig; warnings: string[] } {
  const { settings, warnings } = loadSettings(EdgeSettingsSchema, { env }, 'APPL_ERR_CONFIG');
  const problems = crossChecks(settings);
  if (problems.length > 0)
    throw new DiemcauError('APPL_ERR_CONFIG', problems.join('; '), { details: { problems, warnings } });
  return { config: settings, warnings };
}

export function loadEdgeConfig(env: Env): EdgeConfig {
  return loadEdgeSettings(env).config;
}

/** The edge's settings as Markdown (the README's table). */
export function edgeSettingsTable(): string {
  return settingsMarkdown(EdgeSettingsSchema);
}

/**
 * The fewest RTP ports one worker's slice may have: twice what one join token's
 * transports may hold (so one token cannot take a worker's ports). With
 * DIEMCAU_EDGE_WORKERS unset, the pool runs no more workers than that allows.
 */
export function portsPerWorker(cfg: Pick<EdgeConfig, 'maxPeersPerToken' | 'maxTransportsPerPeer'>): number {
  return Math.max(MIN_PORTS_PER_WORKER, 2 * cfg.maxPeersPerToken * cfg.maxTransportsPerPeer);
}

/** Rules between settings; each broken one is listed. */
function crossChecks(cfg: EdgeConfig): string[] {
  const problems: string[] = [];
  if (cfg.rtcMinPort > cfg.rtcMaxPort) problems.push('DIEMCAU_EDGE_RTC_MIN_PORT is above DIEMCAU_EDGE_RTC_MAX_PORT');
  if (cfg.joinToken !== undefined && sameSecret(cfg.joinToken, cfg.adminToken))
    problems.push('DIEMCAU_EDGE_JOIN_TOKEN must differ from DIEMCAU_EDGE_ADMIN_TOKEN (browsers see the join token)');
  if (cfg.maxPeersPerToken > cfg.maxPeers)
    problems.push('DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN is above DIEMCAU_EDGE_MAX_PEERS');
  const ports = cfg.rtcMaxPort - cfg.rtcMinPort + 1;
  const perToken = cfg.maxPeersPerToken * cfg.maxTransportsPerPeer;
  // Each worker takes its own slice of the ports (adapter/slices.ts); unset, the pool runs as many as fit.
  // A meeting's browsers get their transports on one worker, so a token is held to half of one slice, not of the whole range.
  const { count: workers, smallest: slice } = workerSlices(
    cfg.rtcMinPort,
    cfg.rtcMaxPort,
    cfg.workers,
    portsPerWorker(cfg),
  );
  if (slice < MIN_PORTS_PER_WORKER) {
    problems.push(
      `DIEMCAU_EDGE_WORKERS: ${workers} workers cannot share ${ports} RTP ports (at least ${MIN_PORTS_PER_WORKER} each)`,
    );
  } else if (perToken * 2 > slice) {
    problems.push(
      `DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN x DIEMCAU_EDGE_MAX_TRANSPORTS_PER_PEER (${perToken}) is more than half of one worker's ${slice} RTP ports (${ports} shared by ${workers} workers): one join token could take them all`,
    );
  }
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined)) {
    problems.push(
      cfg.tlsCert === undefined
        ? 'DIEMCAU_EDGE_TLS_CERT: required with DIEMCAU_EDGE_TLS_KEY'
        : 'DIEMCAU_EDGE_TLS_KEY: required with DIEMCAU_EDGE_TLS_CERT',
    );
  }
  try {
    parseCidrList(cfg.tapAllow);
  } catch (err) {
    problems.push(`DIEMCAU_EDGE_TAP_ALLOW: ${(err as Error).message}`);
  }
  return problems;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
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
    // The simulated 320x240 rooms of the tests and demos send one size unless asked.
    smallKbps: cfg.smallKbps ?? (real ? 150 : 0),
    audioKbps: cfg.audioKbps,
    voice: cfg.simVoice,
    videoSender: cfg.videoSender,
    gstLaunchBin: cfg.gstLaunchBin,
    cameraFormat: cfg.cameraFormat,
    echoCancel:
      real && cfg.echoCancel === 'auto'
        ? { source: cfg.echoSource, remote: cfg.pipewireRemote, pwDumpBin: cfg.pwDumpBin }
        : null,
  };
}

export function peerLimits(cfg: EdgeConfig): PeerLimits {
  return {
    maxPeers: cfg.maxPeers,
    maxPeersPerToken: cfg.maxPeersPerToken,
    maxTransportsPerPeer: cfg.maxTransportsPerPeer,
    maxProducersPerPeer: cfg.maxProducersPerPeer,
    maxConsumersPerPeer: cfg.maxConsumersPerPeer,
    maxConsumersPerToken: cfg.maxConsumersPerToken,
    peerIdleMs: cfg.peerIdleMs,
    maxStreamsPerLink: cfg.maxStreamsPerLink,
  };
}
