// os-update.mjs: the program of the image's root unit diemcau-os-update.service
// (see unit.ts). It reads the agent's request, applies it with apt (apt.ts)
// and answers in the unit's own directory; every setting comes from the
// unit's environment (the `os` section), none from the request but the sources.
import fs from 'node:fs';
import { pino } from 'pino';
import { writeFileAtomic } from '@diemcau/shared';
import { AptOs } from './apt.js';
import { osConfigFromEnv } from './config.js';
import { osRequestCodec, requestFile, resultFile, type OsResult } from './unit.js';

const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * The request, from the agent's directory: never through a link (an agent
 * could point it at a file only root may read, and the refusal would quote
 * it), only a plain file of a sensible size.
 */
async function readRequest(file: string): Promise<string> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_REQUEST_BYTES)
      throw new Error('the request is not a plain file of at most 64 KiB');
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

const log = pino({ base: { program: 'diemcau-os-update' } });
const cfg = osConfigFromEnv(process.env, process.env.DIEMCAU_DATA_DIR ?? '/var/lib/diemcau');
await fs.promises.mkdir(cfg.unitDir, { recursive: true, mode: 0o755 });
await fs.promises.rm(resultFile(cfg.unitDir), { force: true });
let code = 0;
let snapshot = 'unknown';
let id: string | undefined;
let result: OsResult;
// The sources list apt reads is written in the unit's own directory, where the agent cannot swap it.
const apt = new AptOs({
  root: cfg.root,
  keyrings: cfg.keyrings,
  aptConfig: cfg.aptConfig,
  stateDir: cfg.unitDir,
  rebootRequiredFile: cfg.rebootRequiredFile,
  log,
});
try {
  const req = osRequestCodec.decode(await readRequest(requestFile(cfg.stateDir)));
  if (!req.ok) throw new Error('request refused: not a valid OS update request');
  snapshot = req.value.snapshot;
  id = req.value.id;
  const r = await apt.apply(req.value);
  result = { v: 1, id, snapshot, ok: true, changed: r.changed, rebootRequired: r.rebootRequired };
} catch (err) {
  log.error({ err }, 'OS update failed');
  code = 1;
  result = {
    v: 1,
    id,
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
await writeFileAtomic(resultFile(cfg.unitDir), JSON.stringify(result), { fsync: true, mode: 0o644 });
process.exitCode = code;
