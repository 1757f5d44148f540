// The health gate's baseline (what the old version's self-test found) is on
// the disk before the links switch. The image's fault matrix found it lost:
// power cut a few seconds after the switch, the unflushed file came back
// empty, and the new version, with nothing to compare its self-test
// against, failed its gate and was rolled back. No power is cut here: the
// write is watched, and must be an fsync'd one made while `current` still
// names the old version.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import * as shared from '@diemcau/shared';
import type { OtaAgentPort } from '../../src/ota/agent-ota.js';
import { otaConfigFromEnv } from '../../src/ota/config.js';
import { buildArtifact, desiredFor, makeBox, makeKeys, startOrigin, tmpDir } from './harness.js';

const dir = tmpDir('diemcau-ota-baseline-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('the baseline is flushed before the switch', async (t) => {
  const keys = makeKeys();
  const base = buildArtifact(dir, '1.0.0');
  const next = buildArtifact(dir, '1.1.0');
  const origin = await startOrigin();
  t.teardown(() => origin.close());
  origin.add(next);
  const box = makeBox(dir, 'box', base, [keys.trusted]);
  const baselineFile = path.join(box.state, 'health-baseline.json');
  const writes: { fsync: boolean; current: string }[] = [];
  const { startAgentOta } = await t.mockImport<typeof import('../../src/ota/agent-ota.js')>(
    '../../src/ota/agent-ota.js',
    {
      '@diemcau/shared': {
        ...shared,
        writeFileAtomic: async (file: string, data: string | Buffer, opts: shared.AtomicWriteOptions = {}) => {
          if (file === baselineFile)
            writes.push({ fsync: opts.fsync === true, current: fs.readlinkSync(path.join(box.root, 'current')) });
          return shared.writeFileAtomic(file, data, opts);
        },
      },
    },
  );
  let handler: ((p: Buffer) => void) | null = null;
  const port: OtaAgentPort = {
    router: { on: (_c, h) => ((handler = h), () => (handler = null)) },
    publishDurable: async () => undefined,
    session: { connected: true, waitConnected: async () => undefined },
    identity: { fleetUrl: origin.url },
  };
  let restarted: () => void = () => undefined;
  const restart = new Promise<void>((resolve) => (restarted = resolve));
  const ota = await startAgentOta({
    agent: port,
    selfTest: async () => ({ ok: false, peripherals: { camera: 'missing', microphone: 'ok', display: 'ok' } }),
    restart: () => restarted(),
    agentVersion: '1.0.0',
    config: otaConfigFromEnv(
      { DIEMCAU_OTA_ROOT: box.root, DIEMCAU_OTA_STATE_DIR: box.state, DIEMCAU_OTA_TRUSTED_KEYS: box.keysFile },
      dir,
    ),
    invocationId: undefined,
    log: pino({ level: 'silent' }),
  });
  t.teardown(() => ota.close());
  handler!(Buffer.from(JSON.stringify({ v: 1, release: desiredFor(next, keys, [origin.artifactUrl('1.1.0')]) })));
  await restart;
  t.equal(fs.readlinkSync(path.join(box.root, 'current')), path.join('versions', '1.1.0'), 'switched');
  t.same(
    writes,
    [{ fsync: true, current: path.join('versions', '1.0.0') }],
    'one baseline write, flushed, before `current` moved',
  );
  t.same(JSON.parse(fs.readFileSync(baselineFile, 'utf8')), { camera: 'missing', microphone: 'ok', display: 'ok' });
});
