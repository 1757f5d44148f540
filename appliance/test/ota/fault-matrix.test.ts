// The fault matrix: a real agent process per box, killed with SIGKILL at
// every step of an update, fed corrupted and tampered releases, a full disk
// and a version that fails its health gate. Whatever happens, each box must
// end on a version that passes its self-test, with an idle journal, having
// reported the outcome. Printed as a table.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { signManifest } from '@diemcau/shared';
import {
  boxHealth,
  buildArtifact,
  desiredFor,
  makeBox,
  makeKeys,
  readOutbox,
  runBox,
  startOrigin,
  tmpDir,
  type Box,
} from './harness.js';

// About thirty real process starts: seconds on an idle machine, minutes on a
// loaded build server, so this file gets more than the suite's default.
t.setTimeout(900_000);

const dir = tmpDir('diemcau-ota-matrix-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const keys = makeKeys();
const stranger = makeKeys('test-key'); // same id, different key: a forged signature
const base = buildArtifact(dir, '1.0.0');
const good = buildArtifact(dir, '1.1.0', { padBytes: 1024 * 1024 });
const bad = buildArtifact(dir, '1.2.0', { selfTestOk: false });
const corrupt = buildArtifact(dir, '1.3.0');
const origin = await startOrigin();
t.teardown(() => origin.close());
for (const a of [base, good, bad, corrupt]) origin.add(a);
origin.corrupt.add('1.3.0');

interface Scenario {
  name: string;
  desired: () => unknown;
  pauses?: (string | undefined)[];
  env?: Record<string, string>;
  expectVersion: string;
  expectOutcome: 'committed' | 'rolled-back' | 'failed';
  expectCode?: string;
  check?: (box: Box) => void;
}

const goodDesired = () => desiredFor(good, keys, [origin.artifactUrl(good.version)]);

const scenarios: Scenario[] = [
  { name: 'no fault', desired: goodDesired, expectVersion: '1.1.0', expectOutcome: 'committed' },
  {
    name: 'killed during download (30%)',
    desired: goodDesired,
    pauses: ['download-progress'],
    expectVersion: '1.1.0',
    expectOutcome: 'committed',
    check: () => {
      // The restarted agent asked for the rest, not for the whole file again.
      const starts = origin.rangeStarts.get('1.1.0') ?? [];
      t.equal(starts.length, 1, 'one resumed request');
      t.ok((starts[0] ?? 0) >= good.manifest.size * 0.3, `resumed at byte ${starts[0]} of ${good.manifest.size}`);
    },
  },
  {
    name: 'killed after verify',
    desired: goodDesired,
    pauses: ['verified'],
    expectVersion: '1.1.0',
    expectOutcome: 'committed',
  },
  {
    name: 'killed after install',
    desired: goodDesired,
    pauses: ['installed'],
    expectVersion: '1.1.0',
    expectOutcome: 'committed',
  },
  {
    name: 'killed during switch',
    desired: goodDesired,
    pauses: ['switch-started'],
    expectVersion: '1.1.0',
    expectOutcome: 'committed',
  },
  {
    name: 'killed right after switch',
    desired: goodDesired,
    pauses: ['switched'],
    expectVersion: '1.1.0',
    expectOutcome: 'committed',
  },
  {
    name: 'power off in first start after switch',
    desired: goodDesired,
    pauses: [undefined, 'health-check'],
    expectVersion: '1.1.0',
    expectOutcome: 'committed',
  },
  {
    name: 'corrupted artifact',
    desired: () => desiredFor(corrupt, keys, [origin.artifactUrl(corrupt.version)]),
    expectVersion: '1.0.0',
    expectOutcome: 'failed',
    expectCode: 'APPL_ERR_OTA_HASH',
  },
  {
    name: 'tampered manifest',
    desired: () => {
      const d = goodDesired();
      // Same signature, payload edited to point at other bytes.
      const payload = d.manifest.payload.replace(good.manifest.sha256, corrupt.manifest.sha256);
      return { ...d, manifest: { ...d.manifest, payload } };
    },
    expectVersion: '1.0.0',
    expectOutcome: 'failed',
    expectCode: 'APPL_ERR_OTA_SIGNATURE',
    check: () => t.equal(origin.bytesSent.get('1.1.0') ?? 0, 0, 'tampered manifest: nothing downloaded'),
  },
  {
    name: 'signed by an untrusted key',
    desired: () => ({
      ...goodDesired(),
      manifest: signManifest(good.manifest, stranger.keyId, stranger.privateKeyPem),
    }),
    expectVersion: '1.0.0',
    expectOutcome: 'failed',
    expectCode: 'APPL_ERR_OTA_SIGNATURE',
  },
  {
    name: 'disk full',
    desired: goodDesired,
    env: { BOX_FREE_BYTES: String(64 * 1024) },
    expectVersion: '1.0.0',
    expectOutcome: 'failed',
    expectCode: 'APPL_ERR_OTA_DISK',
    check: (box) =>
      t.equal(fs.readdirSync(path.join(box.state, 'downloads')).length, 0, 'disk full: no partial download left'),
  },
  {
    name: 'new version fails health gate',
    desired: () => desiredFor(bad, keys, [origin.artifactUrl(bad.version)]),
    expectVersion: '1.0.0',
    expectOutcome: 'rolled-back',
    expectCode: 'APPL_ERR_OTA_HEALTH',
  },
  {
    name: 'new version dies at every start',
    desired: goodDesired,
    // Start 1 switches; starts 2 and 3 die in the gate; start 4 exceeds the limit and rolls back before running it.
    pauses: [undefined, 'health-check', 'health-check'],
    env: { BOX_MAX_BOOTS: '2' },
    expectVersion: '1.0.0',
    expectOutcome: 'rolled-back',
    expectCode: 'APPL_ERR_OTA_HEALTH',
  },
];

const rows: string[][] = [['scenario', 'kills', 'starts', 'ends on', 'works', 'reported', 'code']];
for (const s of scenarios) {
  await t.test(s.name, async (t) => {
    origin.bytesSent.clear();
    origin.rangeStarts.clear();
    const box = makeBox(dir, s.name.replace(/\W+/g, '-'), base, [keys.trusted]);
    fs.writeFileSync(box.desiredFile, JSON.stringify(s.desired()));
    const log = await runBox(box, origin.url, s.pauses ?? [], s.env ?? {});
    const health = boxHealth(box);
    const outcomes = readOutbox(box).filter((r) => r.durable);
    const last = outcomes.at(-1);
    const code = (last?.error as { code?: string } | undefined)?.code;
    rows.push([
      s.name,
      log.kills.join('+') || '-',
      String(log.starts),
      health.version,
      health.working ? 'yes' : 'NO',
      String(last?.state ?? '-'),
      code ?? '-',
    ]);

    t.equal(log.kills.length, (s.pauses ?? []).filter(Boolean).length, 'killed at every planned point');
    t.equal(health.version, s.expectVersion, 'ends on the expected version');
    t.ok(health.working, 'the version it ends on passes its self-test');
    t.equal(last?.state, s.expectOutcome, 'reported the outcome');
    if (s.expectCode) t.equal(code, s.expectCode, 'reported why');
    const journal = JSON.parse(fs.readFileSync(path.join(box.state, 'ota-journal.json'), 'utf8')) as { phase: string };
    t.equal(journal.phase, 'idle', 'journal is idle');
    if (s.expectOutcome === 'committed') {
      t.equal(
        fs.readlinkSync(path.join(box.root, 'previous')),
        path.join('versions', '1.0.0'),
        'previous version kept for rollback',
      );
    }
    s.check?.(box);
  });
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const table = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')).join('\n');
t.comment(`OTA fault matrix\n${table}`);
console.log(`\nOTA fault matrix\n${table}\n`);
