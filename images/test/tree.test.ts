// What can be checked of the box's image and the balena fleet without root,
// a VM or a Docker engine (part of `npm test`): the units and containers run
// files the release bundle really produces, the kiosk opens the port and path
// the edge really serves, the polkit rule names the real units, the balena
// containers install the libraries the image does, and the compose file is
// valid for docker-compose where that tool exists.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { parse as parseYaml } from 'yaml';
import { bundleAgent } from '../../provisioning/src/release/bundle.js';
import { loadEdgeConfig } from '../../appliance/src/media/config.js';
import { kioskRoutes } from '../../appliance/src/media/kiosk.js';
import { installSchemas } from '../../appliance/src/media/api/schemas.js';
import { repo } from './vm.js';

const debian = path.join(repo, 'images', 'debian');
const balena = path.join(repo, 'images', 'balena');
const read = (...p: string[]) => fs.readFileSync(path.join(...p), 'utf8');
const unit = (name: string) => read(debian, 'systemd', name);
const exec = (u: string) =>
  [...u.matchAll(/^ExecStart(?:Pre)?=-?(.*(?:\\\n.*)*)$/gm)].map((m) => m[1]!.replace(/\\\n/g, ' '));

// The edge's signalling port as its config defaults it, and the kiosk's path as its routes match it.
const edgePort = loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) }).port;
const kioskServed = async (url: URL): Promise<boolean> => {
  const app = Fastify();
  installSchemas(app);
  try {
    await app.register(
      kioskRoutes({ dataDir: os.tmpdir(), kioskDir: os.tmpdir(), joinToken: 'j'.repeat(20), plan: () => null }),
    );
    return (await app.inject({ method: 'GET', url: url.pathname })).statusCode === 200;
  } finally {
    await app.close();
  }
};

let bundled: string[] = [];
t.before(async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bundle-'));
  try {
    const appliance = path.join(repo, 'appliance');
    bundled = (
      await bundleAgent({
        entry: path.join(appliance, 'src', 'main.ts'),
        outDir: out,
        workspaceDir: appliance,
        version: '0.0.0-check',
      })
    ).files;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

t.test('the units run files the release bundle produces, with the Node the image installs', async (t) => {
  for (const name of ['diemcau-agent.service', 'diemcau-edge.service', 'diemcau-os-update.service']) {
    for (const line of exec(unit(name))) {
      const files = [...line.matchAll(/\/(?:opt\/diemcau\/current|usr\/lib\/diemcau)\/([\w.-]+)/g)].map((m) => m[1]!);
      t.ok(files.length > 0, `${name}: ${line}`);
      for (const f of files) t.ok(bundled.includes(f), `${name} runs ${f}, which the bundle has`);
      t.match(line, /^\/usr\/bin\/node /, `${name}: /usr/bin/node (the image links it to Node 20)`);
    }
  }
  t.match(read(debian, 'build-rootfs.sh'), /ln -sfn \.\.\/local\/bin\/node "\$out\/usr\/bin\/node"/);
});

t.test('the root unit runs and writes nothing the agent owns', async (t) => {
  const u = unit('diemcau-os-update.service');
  t.match(u, /^User=root$/m, 'it is root');
  for (const line of exec(u)) t.notMatch(line, /\/opt\/diemcau/, `not the agent's files: ${line}`);
  t.match(u, /^WorkingDirectory=\/$/m);
  t.match(u, /^StateDirectory=diemcau-os$/m, "its own directory, root's");
  t.match(u, /DIEMCAU_OS_UNIT_DIR=\/var\/lib\/diemcau-os/);
  t.match(
    read(debian, 'build-rootfs.sh'),
    /chown -R diemcau:diemcau \/opt\/diemcau\n[\s\S]*install -D -m 0644 "\$out\/opt\/diemcau\/versions\/\$version\/os-update\.mjs" "\$out\/usr\/lib\/diemcau\/os-update\.mjs"/,
    'the image installs a root-owned copy of the program, after handing /opt/diemcau to the agent',
  );
});

t.test("the kiosk opens the page the edge serves, on the edge's port", async (t) => {
  const url = new URL(/http:\/\/127\.0\.0\.1:\d+\/\S*/.exec(unit('diemcau-kiosk.service'))![0]);
  t.equal(Number(url.port), edgePort, "the edge's default port");
  t.ok(await kioskServed(url), `the edge serves ${url.pathname}`);
});

t.test('the polkit rule names the units the image installs', async (t) => {
  const rule = read(debian, 'polkit-diemcau.rules');
  const pattern = new RegExp(/\/(\^diemcau-[^/]+\$)\//.exec(rule)![1]!);
  for (const u of ['diemcau-agent.service', 'diemcau-edge.service', 'diemcau-kiosk.service'])
    t.ok(pattern.test(u), `${u} may be restarted by the agent`);
  t.notOk(pattern.test('ssh.service'), 'and nothing else');
  t.match(
    rule,
    /action\.lookup\("unit"\) === "diemcau-os-update\.service" &&\s*action\.lookup\("verb"\) === "start"/,
    'the OS update unit may be started, not stopped, edited or masked',
  );
  t.match(
    unit('diemcau-agent.service'),
    /DIEMCAU_OS_UNIT=diemcau-os-update\.service/,
    'the agent hands apt to that unit',
  );
  const installed = read(debian, 'build-rootfs.sh');
  for (const u of fs.readdirSync(path.join(debian, 'systemd')).filter((f) => f !== 'diemcau-fleet.service'))
    t.match(installed, u, `build-rootfs.sh installs ${u}`);
});

t.test("the edge may open the GPU's render node for its H.264 encoder", async (t) => {
  // Debian gives /dev/dri/renderD* to the group render (0660); without it every
  // VA-API trial fails and the room is encoded in software.
  t.match(unit('diemcau-edge.service'), /^SupplementaryGroups=.*\brender\b/m);
  const pkgs = read(debian, 'packages.txt');
  for (const driver of ['intel-media-va-driver', 'i965-va-driver', 'mesa-va-drivers'])
    t.match(pkgs, new RegExp(`^${driver}$`, 'm'), `packages.txt has ${driver}`);
});

t.test("the status LED's sysfs files are opened to the agent's group by udev", async (t) => {
  // The kernel makes /sys/class/gpio/export and an exported line's files root's only; the agent
  // (user diemcau, group gpio) drives the LED through them with onoff. Run the image's helper on a
  // tree shaped like sysfs, with the modes the kernel gives, and check the group may now write.
  const rules = read(debian, 'rootfs', 'etc', 'udev', 'rules.d', '81-diemcau-gpio.rules');
  t.match(rules, /^SUBSYSTEM=="gpio", ACTION=="add", RUN\+="\/usr\/lib\/diemcau\/gpio-access \/sys %p"$/m);
  const helper = path.join(debian, 'rootfs', 'usr', 'lib', 'diemcau', 'gpio-access');
  t.ok(fs.statSync(helper).mode & 0o100, 'the helper is executable (rootfs/ is copied with its modes)');
  t.match(unit('diemcau-agent.service'), /^SupplementaryGroups=.*\bgpio\b/m, "the agent's unit has the group");
  const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-sysfs-'));
  t.teardown(() => fs.rmSync(sys, { recursive: true, force: true }));
  const file = (p: string, mode: number) => {
    fs.mkdirSync(path.dirname(path.join(sys, p)), { recursive: true });
    fs.writeFileSync(path.join(sys, p), '0\n', { mode });
    fs.chmodSync(path.join(sys, p), mode);
  };
  file('class/gpio/export', 0o200);
  file('class/gpio/unexport', 0o200);
  const line = '/devices/platform/gpio-chip/gpio/gpio17';
  for (const f of ['value', 'direction', 'active_low', 'edge']) file(`${line}/${f}`, 0o644);
  const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  const run = (dev: string) =>
    spawnSync(helper, [sys, dev], { encoding: 'utf8', env: { ...process.env, DIEMCAU_GPIO_GROUP: group } });
  const chip = run('/devices/platform/gpio-chip/gpio/gpiochip0');
  t.equal(chip.status, 0, `a chip: ${chip.stderr}`);
  for (const f of ['export', 'unexport'])
    t.equal(fs.statSync(path.join(sys, 'class/gpio', f)).mode & 0o020, 0o020, `${f}: the group may write`);
  t.equal(fs.statSync(path.join(sys, line, 'value')).mode & 0o060, 0o040, 'a chip does not touch the lines');
  const exported = run(line);
  t.equal(exported.status, 0, `a line: ${exported.stderr}`);
  for (const f of ['value', 'direction', 'active_low', 'edge'])
    t.equal(fs.statSync(path.join(sys, line, f)).mode & 0o060, 0o060, `gpio17/${f}: the group may read and write`);
});

t.test("the versions layout is the updater's: relative current link into versions/", async (t) => {
  const s = read(debian, 'build-rootfs.sh');
  t.match(s, /ln -sfn "versions\/\$version" "\$out\/opt\/diemcau\/current"/);
  t.match(
    read(repo, 'appliance', 'src', 'ota', 'layout.ts'),
    /symlink\(path\.join\('versions', version\)/,
    'the updater writes the same form',
  );
});

t.test("the mediasoup worker's run-time libraries are in the image and the balena containers", async (t) => {
  const pkgs = read(debian, 'packages.txt')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const docker = read(balena, 'Dockerfile');
  for (const lib of ['libssl3', 'libuv1', 'libsrtp2-1', 'libusrsctp2', 'libabsl20220623', 'ffmpeg']) {
    t.ok(pkgs.includes(lib), `packages.txt has ${lib}`);
    t.match(docker.split('FROM node:20-bookworm-slim')[1] ?? '', lib, `the balena run stage has ${lib}`);
  }
});

t.test('balena: compose services match the agent and edge as they are', async (t) => {
  const compose = parseYaml(read(balena, 'docker-compose.yml')) as {
    services: Record<
      string,
      {
        build?: { context: string; dockerfile: string };
        command?: string[];
        environment?: Record<string, string>;
        volumes?: string[];
      }
    >;
  };
  const s = compose.services;
  t.same(Object.keys(s).sort(), ['agent', 'edge', 'kiosk']);
  for (const name of ['agent', 'edge'] as const) {
    const b = s[name]!.build!;
    t.ok(fs.existsSync(path.join(balena, b.context, b.dockerfile)), `${name}: ${b.dockerfile} exists`);
    t.same(s[name]!.command, [name]);
    t.ok(s[name]!.volumes?.includes('diemcau-data:/data'), `${name} shares /data`);
  }
  const kiosk = new URL(s.kiosk!.environment!.LAUNCH_URL!);
  t.equal(Number(kiosk.port), edgePort, "the kiosk opens the edge's port");
  t.equal(String(edgePort), s.edge!.environment!.DIEMCAU_EDGE_PORT, 'the port the edge is given');
  t.ok(await kioskServed(kiosk), `the edge serves ${kiosk.pathname}`);

  // The Dockerfile's COPY sources exist; both stages are Node 20 (the box's major).
  const docker = read(balena, 'Dockerfile');
  t.match(docker, /^FROM node:20-bookworm AS build$/m);
  t.match(docker, /^FROM node:20-bookworm-slim$/m);
  for (const m of docker.matchAll(/^COPY (?!--from)(\S+) /gm))
    t.ok(fs.existsSync(path.join(repo, m[1]!)), `COPY ${m[1]} exists`);

  // The entry point runs the bundle's files; each command is one it knows.
  const start = read(balena, 'start.sh');
  for (const f of [...start.matchAll(/\/opt\/diemcau\/current\/([\w.-]+)/g)].map((m) => m[1]!))
    t.ok(bundled.includes(f), `start.sh runs ${f}, which the bundle has`);
  for (const name of ['agent', 'edge']) t.match(start, new RegExp(`^\\s+${name}\\)$`, 'm'), `start.sh handles ${name}`);
});

t.test('balena: the entry point makes one edge token, shared by both containers', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-start-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const envFile = path.join(dir, 'edge.env');
  const runStart = () =>
    spawnSync('sh', [path.join(balena, 'start.sh'), 'no-such-service'], {
      env: { ...process.env, DIEMCAU_EDGE_ENV_FILE: envFile },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const first = runStart();
  t.equal(first.status, 2, 'an unknown service is refused');
  t.match(first.stderr, /usage: diemcau-start agent\|edge/);
  const token = fs.readFileSync(envFile, 'utf8');
  t.match(token, /^DIEMCAU_EDGE_ADMIN_TOKEN=[0-9a-f]{48}\n$/);
  runStart();
  t.equal(fs.readFileSync(envFile, 'utf8'), token, "the second container keeps the first one's token");
  t.same(fs.readdirSync(dir), ['edge.env'], 'no temporary file left');
});

t.test('balena: docker-compose validates the file (where installed)', async (t) => {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' });
  if (which.status !== 0) {
    t.comment('docker-compose is not installed: the compose schema check is skipped (apt-get install docker-compose)');
    return;
  }
  const out = execFileSync('docker-compose', ['-f', path.join(balena, 'docker-compose.yml'), 'config', '--services'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.same(out.trim().split('\n').sort(), ['agent', 'edge', 'kiosk']);
});
