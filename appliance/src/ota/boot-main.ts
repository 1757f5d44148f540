// ota-boot.mjs: the pre-start check, its own small program so that it runs
// even when a new agent version dies while loading. systemd runs it before
// the agent (ExecStartPre=-/usr/bin/node /opt/diemcau/current/ota-boot.mjs);
// it counts a start of a version on trial and, past the limit, points
// `current` back at the previous version before systemd starts the agent.
// It touches nothing else: no network, no fleet.
import path from 'node:path';
import { pino } from 'pino';
import { otaConfigFromEnv } from './config.js';
import { fixedProbe } from './disk.js';
import { JournalFile } from './journal.js';
import { Layout } from './layout.js';
import { Updater } from './updater.js';

const log = pino({ base: { program: 'diemcau-ota-boot' } });
try {
  const cfg = otaConfigFromEnv(process.env, process.env.DIEMCAU_DATA_DIR ?? '/var/lib/diemcau');
  const updater = new Updater({
    layout: new Layout(cfg.root, cfg.stateDir),
    journal: new JournalFile(path.join(cfg.stateDir, 'journal.json')),
    trustedKeys: [],
    disk: fixedProbe(0),
    agentVersion: '0.0.0',
    healthTimeoutMs: cfg.healthTimeoutMs,
    health: { connected: async () => false, selfTest: async () => 'not in the boot check' },
    reporter: { report: async () => undefined },
    restart: async () => undefined,
    logger: log,
  });
  const r = await updater.bootCheck(process.env.INVOCATION_ID);
  log.info({ result: r }, 'boot check');
} catch (err) {
  // Never keep the agent from starting: the agent repeats the check itself.
  log.error({ err }, 'boot check failed');
}
