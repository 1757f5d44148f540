// os-update.mjs: the program of the image's root unit diemcau-os-update.service
// (see unit.ts). It reads the agent's request, applies it with apt (apt.ts)
// and writes the result for the agent; every setting comes from the unit's
// environment (the `os` section), none from the request but the sources.
import fs from 'node:fs';
import { pino } from 'pino';
import { writeFileAtomic } from '@diemcau/shared';
import { AptOs } from './apt.js';
import { osConfigFromEnv } from './config.js';
import { osRequestCodec, requestFile, resultFile, type OsResult } from './unit.js';

const log = pino({ base: { program: 'diemcau-os-update' } });
const cfg = osConfigFromEnv(process.env, process.env.DIEMCAU_DATA_DIR ?? '/var/lib/diemcau');
let code = 0;
let snapshot = 'unknown';
let result: OsResult;
const apt = new AptOs({
  root: cfg.root,
  keyrings: cfg.keyrings,
  aptConfig: cfg.aptConfig,
  stateDir: cfg.stateDir,
  rebootRequiredFile: cfg.rebootRequiredFile,
  log,
});
try {
  const req = osRequestCodec.decode(await fs.promises.readFile(requestFile(cfg.stateDir), 'utf8'));
  if (!req.ok) throw new Error(`request refused: ${req.error.message}`);
  snapshot = req.value.snapshot;
  const r = await apt.apply(req.value);
  result = { v: 1, snapshot, ok: true, changed: r.changed, rebootRequired: r.rebootRequired };
} catch (err) {
  log.error({ err }, 'OS update failed');
  code = 1;
  result = {
    v: 1,
    snapshot,
    ok: false,
    changed: [],
    rebootRequired: false,
    error: (err as Error).message.slice(0, 2000),
  };
} finally {
  apt.close();
}
// Readable by the agent, which runs as its own user (the file holds no secret).
await writeFileAtomic(resultFile(cfg.stateDir), JSON.stringify(result), { fsync: true, mode: 0o644 });
process.exitCode = code;
