// The real OS applier against a real package mirror: apt-get and dpkg,
// pointed at a scratch root (their state, cache and dpkg database there, no
// chroot), fetch a signed snapshot over HTTP from 127.0.0.1 and upgrade a
// package installed from an earlier one. A snapshot signed by a key the box
// does not trust is refused with nothing changed. Then the same through the
// root unit's program (os-update.mjs's source), started by a stand-in for
// systemctl as the image's polkit rule lets the agent start it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { pino } from 'pino';
import { AptOs } from '../../src/os/apt.js';
import { UnitOs } from '../../src/os/unit.js';
import { startAptMirror, scratchRoot, SUITE, COMPONENT, type PackageSpec } from '../helpers/apt-repo.js';

const run = promisify(execFile);
const log = pino({ level: 'silent' });

const probe = (version: string): PackageSpec => ({
  name: 'diemcau-os-probe',
  version,
  files: { '/usr/share/diemcau-os-probe/version': `${version}\n` },
});
const extra: PackageSpec = {
  name: 'diemcau-os-extra',
  version: '2.0',
  files: { '/usr/share/diemcau-os-extra/README': 'not installed on the box: an upgrade must not add it\n' },
};

// dpkg installs files owned by root: without root it refuses (CI and the image tests run as root).
if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root for dpkg, even into a scratch root');
  process.exit(0);
}

const mirror = await startAptMirror();
t.teardown(() => mirror.close());
await mirror.publish('20261201', [probe('1.0')]);
await mirror.publish('20261203', [probe('1.1'), extra]);
const sources = (snapshot: string) => [{ uri: mirror.snapshotUri(snapshot), suite: SUITE, components: [COMPONENT] }];

/** A scratch root with diemcau-os-probe 1.0 installed by dpkg, as the image had it. */
async function seeded(t: { teardown(fn: () => unknown): void }) {
  const s = scratchRoot();
  t.teardown(() => s.close());
  await run('dpkg', [
    `--root=${s.root}`,
    `--admindir=${path.join(s.root, 'var/lib/dpkg')}`,
    '-i',
    await mirror.deb(probe('1.0')),
  ]);
  return s;
}

const probeFile = (root: string) =>
  fs.readFileSync(path.join(root, 'usr/share/diemcau-os-probe/version'), 'utf8').trim();

t.test('apt upgrades the box to the snapshot and says what changed', async (t) => {
  const s = await seeded(t);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-state-'));
  t.teardown(() => fs.rmSync(state, { recursive: true, force: true }));
  const apt = new AptOs({
    root: s.root,
    keyrings: [mirror.keyring],
    aptConfig: s.aptConfig,
    stateDir: state,
    rebootRequiredFile: path.join(s.root, 'run/reboot-required'),
    log,
  });
  t.teardown(() => apt.close());
  t.equal((await apt.installed()).get('diemcau-os-probe'), '1.0', 'dpkg has 1.0 before');

  const r = await apt.apply({ snapshot: '20261203', sources: sources('20261203') });
  t.same(r.changed, [{ package: 'diemcau-os-probe', from: '1.0', to: '1.1' }], 'one package upgraded, nothing added');
  t.equal(r.rebootRequired, false, 'no reboot asked for');
  t.equal(probeFile(s.root), '1.1', "the package's files are the new version's");
  t.equal((await apt.installed()).get('diemcau-os-probe'), '1.1', 'dpkg has 1.1 after');
  t.ok(
    mirror.requests.some((p) => p === '/snapshots/20261203/dists/bookworm/InRelease'),
    "apt fetched the snapshot's signed index over HTTP",
  );
  t.match(
    fs.readFileSync(path.join(state, 'snapshot.list'), 'utf8'),
    `deb [signed-by=${mirror.keyring} check-valid-until=no] ${mirror.snapshotUri('20261203')} bookworm main`,
    'the sources list names only the snapshot, checked with the configured keyring',
  );

  // Debian's marker after a kernel or libc update: the box must reboot.
  fs.mkdirSync(path.join(s.root, 'run'), { recursive: true });
  fs.writeFileSync(path.join(s.root, 'run/reboot-required'), '*** System restart required ***\n');
  const again = await apt.apply({ snapshot: '20261203', sources: sources('20261203') });
  t.same(again.changed, [], 'the same snapshot again changes nothing');
  t.equal(again.rebootRequired, true, '/run/reboot-required is reported');
});

t.test('a snapshot signed by a key the box does not trust is refused, nothing installed', async (t) => {
  const s = await seeded(t);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-state-'));
  t.teardown(() => fs.rmSync(state, { recursive: true, force: true }));
  const apt = new AptOs({
    root: s.root,
    keyrings: [mirror.otherKeyring],
    aptConfig: s.aptConfig,
    stateDir: state,
    rebootRequiredFile: path.join(s.root, 'run/reboot-required'),
    log,
  });
  t.teardown(() => apt.close());
  await t.rejects(
    apt.apply({ snapshot: '20261203', sources: sources('20261203') }),
    { code: 'APPL_ERR_OS_APT', message: /apt-get update/ },
    'apt-get update fails on the signature',
  );
  t.equal(probeFile(s.root), '1.0', 'the box keeps 1.0');
});

t.test('through the root unit: the agent leaves a request, the unit applies it and answers', async (t) => {
  const s = await seeded(t);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-state-'));
  t.teardown(() => fs.rmSync(state, { recursive: true, force: true }));
  const unitDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-unit-'));
  t.teardown(() => fs.rmSync(unitDir, { recursive: true, force: true }));
  // systemd's part: run the unit's program with the unit's environment (the image's unit sets the same names).
  const systemctl = path.join(state, 'systemctl');
  const main = path.resolve(import.meta.dirname, '../../src/os/apply-main.ts');
  const env = {
    DIEMCAU_OS_ROOT: s.root,
    DIEMCAU_OS_KEYRINGS: mirror.keyring,
    DIEMCAU_OS_APT_CONFIG: s.aptConfig,
    DIEMCAU_OS_STATE_DIR: state,
    DIEMCAU_OS_UNIT_DIR: unitDir,
    DIEMCAU_OS_REBOOT_REQUIRED_FILE: path.join(s.root, 'run/reboot-required'),
  };
  fs.writeFileSync(
    systemctl,
    `#!/bin/sh\n[ "$1" = start ] && [ "$2" = diemcau-os-update.service ] || exit 5\n` +
      `exec env ${Object.entries(env)
        .map(([k, v]) => `${k}='${v}'`)
        .join(' ')} '${process.execPath}' --import tsx '${main}' >'${state}/unit.log' 2>&1\n`,
    { mode: 0o755 },
  );
  const unit = new UnitOs({ unit: 'diemcau-os-update.service', stateDir: state, unitDir, systemctl });
  t.teardown(() => unit.close());
  const r = await unit.apply({ snapshot: '20261203', sources: sources('20261203') });
  t.same(r.changed, [{ package: 'diemcau-os-probe', from: '1.0', to: '1.1' }], 'the unit upgraded the package');
  t.equal(probeFile(s.root), '1.1', 'on the disk');
  // The unit runs as root, the agent as its own user: the answer must be readable by others.
  t.equal(
    fs.statSync(path.join(unitDir, 'result.json')).mode & 0o004,
    0o004,
    "the unit's answer is readable by the agent",
  );

  await t.rejects(
    unit.apply({ snapshot: 'nowhere', sources: sources('nowhere') }),
    { code: 'APPL_ERR_OS_APT', message: /apt-get update/ },
    "a snapshot the mirror lacks: the unit's failure reaches the agent with apt's words",
  );

  // An answer left by an earlier run is not this request's: the unit did not run (systemctl refused it).
  const notStarted = new UnitOs({ unit: 'not-the-os-unit.service', stateDir: state, unitDir, systemctl });
  t.teardown(() => notStarted.close());
  fs.writeFileSync(
    path.join(unitDir, 'result.json'),
    JSON.stringify({ v: 1, snapshot: '20261203', ok: true, changed: [], rebootRequired: false }),
  );
  await t.rejects(
    notStarted.apply({ snapshot: '20261203', sources: sources('20261203') }),
    { code: 'APPL_ERR_OS_APT', message: /left no answer to this request/ },
    'an old answer for the same snapshot is not taken for this request',
  );

  // The request is the agent's file: the unit (root) never reads it through a link.
  const secret = path.join(unitDir, 'root-only');
  fs.writeFileSync(secret, 'a line only root may read', { mode: 0o600 });
  fs.rmSync(path.join(state, 'request.json'), { force: true });
  fs.symlinkSync(secret, path.join(state, 'request.json'));
  await new Promise<void>((resolve) => execFile(systemctl, ['start', 'diemcau-os-update.service'], () => resolve()));
  const answer = JSON.parse(fs.readFileSync(path.join(unitDir, 'result.json'), 'utf8')) as {
    ok: boolean;
    error?: string;
  };
  t.equal(answer.ok, false, 'a request that is a link is refused');
  t.notMatch(answer.error ?? '', /only root/, 'and nothing of what it points at is quoted');
});
