// The pre-start boot check (ota-boot.mjs under systemd's ExecStartPre):
// a version on trial that has used up its starts is rolled back before the
// agent is even loaded, and one systemd start is counted once however many
// programs check it.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { pino } from 'pino';
import { emptyJournal, JournalFile, type Journal } from '../../src/ota/journal.js';
import { Layout } from '../../src/ota/layout.js';
import { fixedProbe } from '../../src/ota/disk.js';
import { Updater } from '../../src/ota/updater.js';
import { buildArtifact, desiredFor, makeBox, makeKeys, tmpDir } from './harness.js';

const BOOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/ota/boot-main.ts');
const dir = tmpDir('diemcau-ota-boot-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const keys = makeKeys();
const base = buildArtifact(dir, '1.0.0');
const next = buildArtifact(dir, '1.1.0');

/** A box switched to 1.1.0 and waiting for its health gate, with `attempts` starts counted. */
function trialBox(name: string, attempts: number) {
  const box = makeBox(dir, name, base, [keys.trusted]);
  fs.mkdirSync(path.join(box.root, 'versions', '1.1.0'));
  execFileSync('tar', ['-xzf', next.file, '-C', path.join(box.root, 'versions', '1.1.0')]);
  fs.symlinkSync(path.join('versions', '1.0.0'), path.join(box.root, 'previous'));
  fs.rmSync(path.join(box.root, 'current'));
  fs.symlinkSync(path.join('versions', '1.1.0'), path.join(box.root, 'current'));
  const journal = new JournalFile(path.join(box.state, 'journal.json'));
  const j: Journal = {
    ...emptyJournal(),
    phase: 'trial',
    target: { desired: desiredFor(next, keys, ['http://127.0.0.1:9/x']), manifest: next.manifest },
    from: '1.0.0',
    bootAttempts: attempts,
    trialStartedAt: new Date().toISOString(),
  };
  fs.writeFileSync(journal.file, JSON.stringify(j));
  return { box, journal };
}

t.test('past the limit, ota-boot rolls back before the agent starts', async (t) => {
  const { box, journal } = trialBox('exhausted', 3);
  execFileSync(process.execPath, ['--import', 'tsx', BOOT], {
    env: { ...process.env, DIEMCAU_OTA_ROOT: box.root, DIEMCAU_OTA_STATE_DIR: box.state, INVOCATION_ID: 'start-4' },
    stdio: 'pipe',
  });
  t.equal(
    fs.readlinkSync(path.join(box.root, 'current')),
    path.join('versions', '1.0.0'),
    'current points at the old version again',
  );
  const j = journal.load();
  t.equal(j.phase, 'idle');
  t.match(
    j.outcome,
    { version: '1.1.0', result: 'rolled-back', reported: false, error: { code: 'APPL_ERR_OTA_HEALTH' } },
    'the agent will report why',
  );
});

t.test('one start is counted once', async (t) => {
  const { box, journal } = trialBox('counted', 1);
  const updater = new Updater({
    layout: new Layout(box.root, box.state),
    journal,
    trustedKeys: [keys.trusted],
    disk: fixedProbe(1e12),
    agentVersion: '1.1.0',
    healthTimeoutMs: 1000,
    health: { connected: async () => true, selfTest: async () => null },
    reporter: { report: async () => undefined },
    restart: async () => undefined,
    logger: pino({ level: 'silent' }),
  });
  t.equal(await updater.bootCheck('start-2'), 'trial');
  t.equal(await updater.bootCheck('start-2'), 'trial', 'the agent after ExecStartPre');
  t.equal(journal.load().bootAttempts, 2);
  await updater.bootCheck('start-3');
  t.equal(journal.load().bootAttempts, 3, 'the next start counts');
});
