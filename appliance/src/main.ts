// The appliance agent: `npm run appliance` (systemd runs the same on a box).
// The one composition root of the program: reads config, builds the parts,
// starts them, and is the only place that exits the process.
import { pino } from 'pino';
import { settingsProblems } from '@diemcau/shared';
import { Agent, readAgentVersion } from './agent/index.js';
import { discoverBootstrap, searchFrom } from './bootstrap/discover.js';
import {
  AGENT_RESTART_EXIT_CODE,
  bindSettings,
  createAgentCommands,
  fileKiosk,
  mediaRestarter,
  outletsFrom,
  systemdMedia,
  type AgentCommands,
} from './commands/index.js';
import { readConfig, type AgentConfig } from './config.js';
import {
  createHardware,
  createHealthMonitor,
  hardwareOptionsFrom,
  roomReady,
  type Hardware,
  type HardwareOptions,
  type HealthMonitor,
} from './devices/index.js';
import { SimulatedCollector, SystemCollector } from './telemetry/index.js';
import { startAgentOta, type AgentOta } from './ota/agent-ota.js';
import { otaAgentConfig, type OtaAgentConfig } from './ota/config.js';
import { edgeFollowsCurrent } from './ota/edge-follow.js';
import { startAgentOs, type AgentOs } from './os/agent-os.js';
import { osAgentConfig, type OsAgentConfig } from './os/config.js';
import { edgeLinkFrom, linkEdge, type EdgeLink, type EdgeLinkConfig } from './media/agent-link.js';
import { writeKioskLink } from './media/kiosk-link.js';
import { runProbe, startReadiness, type ReadinessRunner } from './readiness/index.js';
import { ledPatternFor, type BoxState } from './status/box-status.js';
import { hasDefaultRoute } from './status/network.js';

const HEALTH_POLL_MS = 30_000;

interface Settings {
  config: AgentConfig;
  warnings: string[];
  hardwareOptions: HardwareOptions;
  edgeConfig: EdgeLinkConfig;
  otaConfig: OtaAgentConfig;
  osConfig: OsAgentConfig;
}

/**
 * The whole tree, read once here (the only reader of the environment) and
 * checked before anything starts or enrols: a bad OTA value or edge URL stops
 * the box now, with every problem listed, not after it enrolled.
 */
function settingsOrExit(): Settings {
  const problems: string[] = [];
  let settings: Settings | undefined;
  try {
    const { config, warnings } = readConfig(process.env, process.argv.slice(2));
    const hw = hardwareOptionsFrom(config.devices);
    problems.push(...hw.problems);
    const edgeConfig = edgeLinkFrom(config.edge, config.hardware, config.caFile);
    if (edgeConfig.kind === 'invalid') problems.push(...edgeConfig.problems);
    settings = {
      config,
      warnings,
      hardwareOptions: hw.options,
      edgeConfig,
      otaConfig: otaAgentConfig(config.ota, config.dataDir),
      osConfig: osAgentConfig(config.os, config.dataDir, config.hardware),
    };
  } catch (err) {
    problems.push(...(settingsProblems(err) ?? [(err as Error).message]));
  }
  if (problems.length > 0 || !settings) {
    process.stderr.write(`diemcau agent: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  return settings;
}

async function main(): Promise<void> {
  const { config, warnings, hardwareOptions, edgeConfig, otaConfig, osConfig } = settingsOrExit();
  const log = pino({ level: config.logLevel, base: { program: 'diemcau-agent' } });
  for (const warning of warnings) log.warn({ setting: warning }, 'deprecated setting');
  const agentVersion = readAgentVersion();
  const abort = new AbortController();
  let agent: Agent | undefined;
  let hardware: Hardware | undefined;
  let commands: AgentCommands | undefined;
  let monitor: HealthMonitor | undefined;
  let ota: AgentOta | undefined;
  let osUpdates: AgentOs | undefined;
  let edge: EdgeLink | undefined;
  let readiness: ReadinessRunner | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (reason: string, code: number): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      abort.abort();
      // A second signal while stopping means "now".
      const force = setTimeout(() => process.exit(code || 1), 10_000);
      force.unref();
      monitor?.close();
      readiness?.close();
      commands?.close();
      edge?.close();
      await osUpdates?.close().catch((err: unknown) => log.warn({ err }, 'os updates close failed'));
      await ota?.close().catch((err: unknown) => log.warn({ err }, 'ota close failed'));
      await agent?.close({ graceful: true }).catch((err: unknown) => log.warn({ err }, 'agent close failed'));
      await hardware?.close().catch((err: unknown) => log.warn({ err }, 'hardware close failed'));
      log.flush();
      process.exit(code);
    })());
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  hardware = await createHardware({ kind: config.hardware, log, options: hardwareOptions });
  const hw = hardware;
  // Until the agent is enrolled and connected, the LED says so.
  hw.gpio.setLed('enrolling');
  const collector =
    config.hardware === 'simulated'
      ? new SimulatedCollector(config.dataDir)
      : new SystemCollector({ dataDir: config.dataDir });
  log.info({ hardware: config.hardware, dataDir: config.dataDir, agentVersion }, 'starting');

  agent = await Agent.start(
    {
      config,
      log,
      collector,
      agentVersion,
      ...(edgeConfig.kind === 'edge' && edgeConfig.publicUrl ? { mediaUrl: edgeConfig.publicUrl } : {}),
      peripherals: async () => (await hw.peripherals()).peripherals,
      // Simulated boxes share a default serial; sending it would make them one
      // device. One given explicitly (DIEMCAU_SIM_SERIAL) stands for a box's DMI serial.
      serial: async () => {
        if (config.hardware !== 'real' && config.devices.simSerial === undefined) return undefined;
        const serial = (await hw.host.summary()).serial.trim();
        // DMI says this on boards whose vendor never set one: useless as an identity.
        return serial === '' || /^(unknown|default string|to be filled by o\.e\.m\.|0+)$/i.test(serial)
          ? undefined
          : serial;
      },
      bootstrap: async () => {
        const r = await discoverBootstrap(searchFrom(config.bootstrap, config));
        for (const bad of r.rejected) log.warn(bad, 'bootstrap file rejected');
        if (!r.found) throw new Error('no bootstrap found (USB stick, /boot, /etc/diemcau or DIEMCAU_FLEET_URL)');
        log.info({ source: r.found.source }, 'bootstrap found');
        return r.found.bootstrap;
      },
    },
    abort.signal,
  );
  const a = agent;
  log.info({ deviceId: a.identity.deviceId, siteId: a.identity.siteId }, 'agent running');

  const outlets = outletsFrom(config.outlets, config.dataDir, hardwareOptions.bin.systemctl);
  commands = createAgentCommands({
    dataDir: config.dataDir,
    log,
    fsync: config.queueFsync,
    hardware: hw,
    // A real box restarts its edge's unit and writes the identify card for the kiosk page.
    media: config.hardware === 'simulated' ? null : mediaRestarter(outlets, process.env, log),
    kiosk: fileKiosk(outlets.kioskDir),
    site: () => ({ deviceId: a.identity.deviceId, siteName: a.identity.siteName }),
    publishDurable: (channel, payload) => a.publishDurable(channel, payload),
    requestAgentRestart: (reason) => void stop(`restart requested: ${reason}`, AGENT_RESTART_EXIT_CODE),
  });
  const cmds = commands;
  a.router.on('commands', (payload) => cmds.onMessage(payload));
  await cmds.start();
  // The media plan in, the edge's stats out (or one log line saying there is no edge).
  edge = linkEdge({ agent: a, config: edgeConfig, log });
  // The TV's page (real boxes only: the simulator has no TV) and the status LED say what the box is doing.
  let roomOk = true;
  let boxNow: BoxState = 'connecting';
  const status = writeKioskLink({
    dir: config.hardware === 'real' ? outlets.kioskDir : null,
    session: a.session,
    connected: a.connected,
    log,
    network: () => hasDefaultRoute(hardwareOptions.roots.proc),
    onState: (s) => {
      boxNow = s;
      hw.gpio.setLed(ledPatternFor(s, roomOk));
    },
  });
  bindSettings(cmds.settings, {
    telemetryIntervalSec: (sec) => a.setTelemetryInterval(sec),
    logLevel: (level) => (log.level = level),
  });
  monitor = createHealthMonitor({
    hardware: hw,
    intervalMs: HEALTH_POLL_MS,
    log,
    onReport: (report) => {
      roomOk = roomReady(report.peripherals);
      hw.gpio.setLed(ledPatternFor(boxNow, roomOk));
      void a
        .publishDurable('health', JSON.stringify(report))
        .catch((err: unknown) => log.warn({ err }, 'health report not queued'));
    },
  });
  // The readiness check before a meeting: the fleet's request in, the room's and the link's figures out.
  readiness = startReadiness({
    router: a.router,
    publishDurable: (channel, payload) => a.publishDurable(channel, payload),
    selfTest: () => hw.selfTest({ withHost: false }),
    probe: (target) => runProbe(target),
    snapshot: () => hw.camera.lastFrame?.() ?? null,
    log: log.child({ module: 'readiness' }),
  });
  // Over-the-air updates: the desired release in, 'ota' reports out, the self-test as health gate.
  ota = await startAgentOta({
    agent: a,
    selfTest: () => hw.selfTest(),
    restart: (reason) => void stop(`update: ${reason}`, AGENT_RESTART_EXIT_CODE),
    agentVersion,
    config: otaConfig,
    invocationId: process.env.INVOCATION_ID,
    onStatus: (o) => status.setOta(o),
    log,
  });
  // Debian's updates from the province mirror: a snapshot in, 'os' reports out, never during a live meeting.
  const link = edge;
  osUpdates = await startAgentOs({
    agent: a,
    config: osConfig,
    busy: () => link.inMeeting(),
    selfTest: () => hw.selfTest(),
    reboot: (reason) => hw.power.reboot(reason),
    healthTimeoutMs: otaConfig.healthTimeoutMs,
    log,
  });
  // The edge runs what `current` points at too: after a switch or a rollback its unit is restarted.
  if (config.hardware === 'real' && ota.updater) {
    const media = systemdMedia({ unit: outlets.unit, systemctl: outlets.systemctl, log });
    void edgeFollowsCurrent({
      root: otaConfig.root,
      procRoot: hardwareOptions.roots.proc,
      systemctl: outlets.systemctl,
      unit: outlets.unit,
      restart: (reason) => media.restart(reason),
      log,
    })
      .then((r) => log.info({ edge: r }, 'edge checked against the current version'))
      .catch((err: unknown) => log.warn({ err }, 'edge not restarted onto the current version'))
      .finally(() => media.close?.());
  }
}

main().catch((err: unknown) => {
  const e = err as Error & { code?: string };
  process.stderr.write(`diemcau agent: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(1);
});
