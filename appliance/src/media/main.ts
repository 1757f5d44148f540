// Composition root of the media edge (`npm run edge`): the same program on a
// site's box (DIEMCAU_EDGE_ROLE=site) and on the province's server (core).
// It reads config, starts the worker and the signalling API, and takes media
// plans over PUT /media/v1/plan (from the agent, which holds the MQTT
// connection) or from DIEMCAU_EDGE_PLAN_FILE.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { mediaPlanCodec } from '@diemcau/shared';
import { captureConfig, loadEdgeSettings, peerLimits, portsPerWorker } from './config.js';
import { loadEdgeTls, loadTrustedCa } from './tls.js';
import { Edge } from './edge.js';
import { SignalServer } from './server.js';
import { kioskRoutes } from './kiosk.js';
import { ProbeResponder } from './probe-responder.js';

async function main(): Promise<void> {
  let cfg;
  let warnings: string[] = [];
  let tls;
  let trustedCa;
  // A site's edge is named after its box's device id, known only once the agent
  // has enrolled: without DIEMCAU_EDGE_ID it is taken from the agent's identity
  // (and until then the edge runs as 'unenrolled', serving the kiosk page).
  const siteEdgeId =
    process.env.DIEMCAU_EDGE_ID?.trim() || process.env.DIEMCAU_EDGE_ROLE?.trim() === 'core'
      ? null
      : identityDeviceId(process.env);
  try {
    ({ config: cfg, warnings } = loadEdgeSettings(
      siteEdgeId === null ? process.env : { ...process.env, DIEMCAU_EDGE_ID: siteEdgeId ?? UNENROLLED },
    ));
    tls = loadEdgeTls(cfg);
    trustedCa = loadTrustedCa(cfg);
  } catch (err) {
    process.stderr.write(`media edge: ${(err as Error).message}\n`);
    process.exit(2);
  }
  // A log reader that went away must not take the edge down (or keep it from stopping).
  process.stdout.on('error', () => {});
  const log = pino({ level: cfg.logLevel, base: { edgeId: cfg.edgeId, role: cfg.role } });
  for (const warning of warnings) log.warn({ setting: warning }, 'deprecated setting');
  const edge = await Edge.start({
    edgeId: cfg.edgeId,
    role: cfg.role,
    listen: { listenIp: cfg.listenIp, ...(cfg.announcedIp ? { announcedIp: cfg.announcedIp } : {}) },
    capture: captureConfig(cfg),
    ffmpegBin: cfg.ffmpegBin,
    worker: {
      rtcMinPort: cfg.rtcMinPort,
      rtcMaxPort: cfg.rtcMaxPort,
      ...(cfg.workers ? { workers: cfg.workers } : {}),
      spanAt: cfg.workerSpanAt,
      minPortsPerWorker: portsPerWorker(cfg),
    },
    log: log.child({ module: 'edge' }),
    limits: peerLimits(cfg),
    tapAllow: cfg.tapAllow,
    ...(trustedCa ? { trustedCa } : {}),
  });
  // The TV's page (GET /kiosk); the core has no TV. The TV joins with a token
  // of its own, made now and shown only to this box, never the admin token.
  const kioskToken = cfg.role === 'site' ? randomBytes(24).toString('base64url') : undefined;
  const kiosk = kioskToken
    ? kioskRoutes({
        dataDir: cfg.dataDir,
        kioskDir: cfg.kioskDir ?? path.join(cfg.dataDir, 'kiosk'),
        joinToken: kioskToken,
        plan: () => edge.currentPlan,
      })
    : undefined;
  const server = new SignalServer({
    edge,
    adminToken: cfg.adminToken,
    ...(cfg.joinToken ? { joinToken: cfg.joinToken } : {}),
    ...(kioskToken ? { kioskToken } : {}),
    ...(tls ? { tls } : {}),
    maxConnections: cfg.maxConnections,
    maxConnectionsPerAddress: cfg.maxConnectionsPerAddress,
    host: cfg.host,
    port: cfg.port,
    log: log.child({ module: 'signal' }),
    ...(kiosk ? { extraRoutes: kiosk } : {}),
  });
  const url = await server.listen();
  // Tests and the agent read this line to learn the URL (port 0 in tests).
  log.info(
    { url, workerPid: edge.workerPid, tls: tls !== undefined, limits: peerLimits(cfg), tapAllow: cfg.tapAllow },
    'edge listening',
  );
  // The readiness probe's echo, on the same port number over UDP: boxes find it
  // from the signalling URL the fleet gives them, with no address of its own.
  const probe = await ProbeResponder.start({
    host: cfg.host,
    port: Number(new URL(url).port),
    accepts: (token) => edge.currentPlan?.meetings.some((m) => m.acceptToken === token) ?? false,
    log: log.child({ module: 'probe' }),
  }).catch((err: unknown) => {
    // The edge still carries meetings; only the readiness check cannot reach it.
    log.warn({ err }, 'probe responder not started');
    return undefined;
  });

  const planFile = cfg.planFile;
  if (planFile) {
    const load = (): void => {
      let text: string;
      try {
        text = fs.readFileSync(planFile, 'utf8');
      } catch (err) {
        return log.warn({ err, planFile }, 'cannot read plan file');
      }
      const plan = mediaPlanCodec.decode(text);
      if (!plan.ok) return log.warn({ err: plan.error, planFile }, 'plan file rejected');
      void edge.applyPlan(plan.value);
    };
    load();
    fs.watchFile(planFile, { interval: 500 }, load);
  }

  // Enrolled meanwhile: exit so systemd starts us again under the device id.
  const identityFile = path.join(cfg.dataDir, 'identity.json');
  if (siteEdgeId === undefined) {
    fs.watchFile(identityFile, { interval: 2000 }, () => {
      if (identityDeviceId(process.env) !== undefined) stop('enrolled');
    });
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    // Never hang on the way out: a supervisor is waiting to restart us.
    setTimeout(() => process.exit(1), 5000).unref();
    if (planFile) fs.unwatchFile(planFile);
    fs.unwatchFile(identityFile);
    void Promise.all([server.close(), edge.close(), probe?.close()]).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const UNENROLLED = 'unenrolled';

/** The device id in the agent's identity file; undefined when not enrolled yet. */
function identityDeviceId(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const dataDir = env.DIEMCAU_DATA_DIR?.trim() || '/var/lib/diemcau';
    const id = (JSON.parse(fs.readFileSync(path.join(dataDir, 'identity.json'), 'utf8')) as { deviceId?: unknown })
      .deviceId;
    return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`media edge failed to start: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
