// OTA inside the agent: wires the updater to the agent's MQTT session (the
// retained 'desired' channel in, 'ota' reports out through the durable
// queue), its self-test (the health gate) and its restart; on a district
// box it also runs the artifact cache for the communes below. main.ts calls
// startAgentOta() once the agent runs and close() when it stops.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { keyIdOf, writeFileAtomic, type OtaStatus, type TrustedKey } from '@diemcau/shared';
import type { OtaView } from '../status/box-status.js';
import { ArtifactCache } from './cache-server.js';
import type { OtaAgentConfig } from './config.js';
import { fixedProbe, statfsProbe } from './disk.js';
import { JournalFile } from './journal.js';
import { Layout } from './layout.js';
import { dpkgProbe, listedProbe } from './packages.js';
import { pauseAtCheckpoint } from './pause.js';
import { Updater } from './updater.js';

/** What OTA needs of the agent (Agent in agent/agent.ts has all of it). */
export interface OtaAgentPort {
  router: { on(channel: 'desired', handler: (payload: Buffer) => void): () => void };
  publishDurable(channel: 'ota', payload: string): Promise<void>;
  session: { connected: boolean; waitConnected(): Promise<void> };
  identity: { fleetUrl: string };
}

export interface AgentOtaDeps {
  agent: OtaAgentPort;
  /** The room's self-test: which peripherals work now. */
  selfTest: () => Promise<{ ok: boolean; peripherals: Record<string, string> }>;
  /** Ends the process with the restart exit code (systemd starts `current` again). */
  restart: (reason: string) => void;
  agentVersion: string;
  /** The updater's settings, from the agent's tree (otaAgentConfig). */
  config: OtaAgentConfig;
  /** systemd's id of this start (INVOCATION_ID), so the boot check counts each start once. */
  invocationId: string | undefined;
  /** Every report of the updater, and the last outcome at start: the TV and the LED show them. */
  onStatus?: (status: OtaView) => void;
  log: Logger;
}

export interface AgentOta {
  /** Null when this box has no side-by-side layout (a development run): updates are off. */
  updater: Updater | null;
  cache: ArtifactCache | null;
  config: OtaAgentConfig;
  close(): Promise<void>;
}

export async function startAgentOta(d: AgentOtaDeps): Promise<AgentOta> {
  const config = d.config;
  const log = d.log.child({ module: 'ota' });
  let cache: ArtifactCache | null = null;
  let cacheUrl: string | null = null;
  if (config.cachePort !== null) {
    cache = new ArtifactCache({
      dir: path.join(config.stateDir, 'cache'),
      upstream: d.agent.identity.fleetUrl,
      host: config.cacheHost,
      port: config.cachePort,
      logger: log,
    });
    const bound = await cache.listen();
    cacheUrl = config.cacheUrl ?? bound;
    log.info({ cacheUrl }, 'serving release artifacts to communes');
  }
  const close = async (): Promise<void> => {
    unDesired?.();
    await updater?.close();
    await cache?.close();
  };
  let unDesired: (() => void) | undefined;
  let updater: Updater | null = null;
  if (!fs.existsSync(path.join(config.root, 'current'))) {
    log.info({ root: config.root }, 'no versions/current layout here: over-the-air updates are off');
    return { updater, cache, config, close };
  }
  const trusted = readTrustedKeys(config.trustedKeysFile, log);
  const layout = new Layout(config.root, config.stateDir);
  await layout.ensure();
  const baselineFile = path.join(config.stateDir, 'health-baseline.json');
  const tell = (s: OtaStatus): void => {
    try {
      d.onStatus?.({
        state: s.state,
        current: s.current,
        at: s.at,
        ...(s.target ? { target: s.target } : {}),
        ...(s.progress ? { progress: s.progress } : {}),
      });
    } catch (err) {
      log.warn({ err }, 'status listener failed');
    }
  };
  const journal = new JournalFile(path.join(config.stateDir, 'journal.json'));
  // The last outcome survives restarts (a rollback restarts the agent): the TV keeps telling it.
  const last = journal.load().outcome;
  if (last)
    tell({
      v: 1,
      state: last.result,
      current: layout.readLink('current') ?? d.agentVersion,
      target: last.version,
      at: last.at,
    });
  updater = new Updater({
    layout,
    journal,
    trustedKeys: trusted,
    disk: config.freeBytes !== null ? fixedProbe(config.freeBytes) : statfsProbe,
    packages: config.packagesFile !== null ? listedProbe(config.packagesFile) : dpkgProbe(),
    // Before a switch the code running is what `current` points at: the link
    // is the surest version (a bundle's own package.json lookup may not be).
    agentVersion: layout.readLink('current') ?? d.agentVersion,
    healthTimeoutMs: config.healthTimeoutMs,
    fleetUrl: d.agent.identity.fleetUrl,
    ...(cacheUrl ? { cacheUrl } : {}),
    logger: log,
    ...(config.pauseFile !== null ? { checkpoint: pauseAtCheckpoint(config.pauseFile, log) } : {}),
    reporter: {
      // Outcomes go through the disk queue (they must reach the fleet); progress too, it is small and rare.
      report: (status) => {
        tell(status);
        return d.agent.publishDurable('ota', JSON.stringify(status));
      },
    },
    restart: async () => d.restart('switching version'),
    // The old version records what worked, so a camera broken before the update does not fail the new one.
    // On the disk before the links switch: a power cut in the seconds after the switch lost an unflushed
    // baseline, and the new version, with nothing to compare against, failed its gate and rolled back.
    beforeSwitch: async () => {
      const r = await d.selfTest();
      await writeFileAtomic(baselineFile, JSON.stringify(r.peripherals), { fsync: true });
    },
    health: {
      async connected(signal) {
        if (d.agent.session.connected) return true;
        await Promise.race([
          d.agent.session.waitConnected(),
          new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
        ]);
        return d.agent.session.connected;
      },
      async selfTest() {
        const r = await d.selfTest();
        if (r.ok) return null;
        let baseline: Record<string, string> = {};
        try {
          baseline = JSON.parse(fs.readFileSync(baselineFile, 'utf8')) as Record<string, string>;
        } catch {
          // no baseline: every failure counts
        }
        const worse = Object.entries(r.peripherals).filter(([k, v]) => v !== 'ok' && baseline[k] === 'ok');
        if (Object.keys(baseline).length > 0 && worse.length === 0) return null;
        return worse.length > 0 ? worse.map(([k, v]) => `${k} ${v}`).join(', ') : 'self-test not ok';
      },
    },
  });
  if ((await updater.bootCheck(d.invocationId)) === 'rolled-back') {
    d.restart('rolled back after repeated failed starts');
    return { updater, cache, config, close };
  }
  const u = updater;
  unDesired = d.agent.router.on('desired', (payload) => u.handleDesiredMessage(payload));
  u.start();
  return { updater, cache, config, close };
}

function readTrustedKeys(file: string, log: Logger): TrustedKey[] {
  try {
    const text = fs.readFileSync(file, 'utf8');
    if (text.trimStart().startsWith('-----BEGIN PUBLIC KEY')) return [{ keyId: keyIdOf(text), publicKeyPem: text }];
    return JSON.parse(text) as TrustedKey[];
  } catch (err) {
    // No keys: every release is refused (and reported), never installed unchecked.
    log.warn({ err, file }, 'no trusted release keys: updates will be refused');
    return [];
  }
}
