// First boot with the fleet pinned in the image, real processes: the
// province's fleet, and a box (the agent as `npm run appliance` starts it)
// whose image pins that fleet. A stick from someone else, naming their own
// fleet, is refused: the box enrols into the province's fleet from its
// image's own bootstrap (by its pre-registered serial) and never sends the
// other fleet a request. A commune's stick for the pinned fleet is used as
// always. Once enrolled, a box never enrols again, whatever stick is put in.
// The other fleet is a server that records what reaches it.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { BOOTSTRAP_FILE_NAME } from '@diemcau/shared';
import { mintToken, startAgent, startFleet, tempDir, until, type Fleet } from '../e2e/procs.js';

const root = tempDir(t, 'first-boot');
const fleet = await startFleet(t, { dataDir: path.join(root, 'fleet') });

// Someone else's fleet: records every request, answers none usefully.
const attackerHits: string[] = [];
const attacker = http.createServer((req, res) => {
  attackerHits.push(`${req.method} ${req.url}`);
  res.writeHead(503).end();
});
await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => attacker.close(() => resolve())));
const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;

const writeBootstrap = (dir: string, body: object) => {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, BOOTSTRAP_FILE_NAME), JSON.stringify({ v: 1, ...body }));
};

/** A box's image: /etc/diemcau with the pin (and maybe its own bootstrap), an empty /boot, a media root. */
function image(name: string, etcBootstrap?: object) {
  const dir = path.join(root, name);
  const etc = path.join(dir, 'etc-diemcau');
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(path.join(etc, 'fleet-pin.json'), JSON.stringify({ v: 1, fleetUrls: [fleet.url] }));
  if (etcBootstrap) writeBootstrap(etc, etcBootstrap);
  const boot = path.join(dir, 'boot');
  fs.mkdirSync(boot);
  const media = path.join(dir, 'media');
  fs.mkdirSync(media);
  const env = {
    DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS: media,
    DIEMCAU_BOOTSTRAP_DIRS: `${boot}:${etc}`,
    DIEMCAU_BOOTSTRAP_PIN: path.join(etc, 'fleet-pin.json'),
  };
  return { dataDir: path.join(dir, 'data'), media, env };
}

const onlineAt = async (f: Fleet, siteId: string, deviceId: string) =>
  (await f.api<{ items: { id: string; online: boolean }[] }>('GET', `/api/v1/devices?siteId=${siteId}`)).items.find(
    (d) => d.id === deviceId && d.online,
  );

const sites = (await fleet.api<{ items: { id: string; parentId: string | null }[] }>('GET', '/api/v1/sites')).items;
const [siteA, siteB] = sites.filter((s) => s.parentId !== null).map((s) => s.id);

t.test("someone else's stick is refused; the box enrols into the pinned fleet", async (t) => {
  await fleet.api('POST', '/api/v1/preregistrations', { serial: 'SN-PIN-0001', siteId: siteA });
  const box = image('box-a', { fleetUrl: fleet.url });
  writeBootstrap(path.join(box.media, 'clerk', 'STICK'), { fleetUrl: attackerUrl, token: 'attacker-token-0001' });
  const agent = startAgent(t, {
    fleetUrl: '',
    dataDir: box.dataDir,
    env: { ...box.env, DIEMCAU_SIM_SERIAL: 'SN-PIN-0001' },
  });
  const id = await agent.deviceId();
  await until('box A online at its site', () => onlineAt(fleet, siteA!, id));
  t.same(attackerHits, [], 'the other fleet never heard from the box');
  t.match(
    agent.output(),
    /"code":"APPL_ERR_BOOTSTRAP_PIN"[^\n]*bootstrap file rejected|bootstrap file rejected[^\n]*"code":"APPL_ERR_BOOTSTRAP_PIN"/,
    'the refusal is logged with its code',
  );
  t.match(agent.output(), /is not the fleet pinned in the image/);
});

t.test("the commune's stick for the pinned fleet is used; once enrolled, a new stick changes nothing", async (t) => {
  const box = image('box-b');
  writeBootstrap(path.join(box.media, 'clerk', 'DIEMCAU'), {
    fleetUrl: fleet.url,
    token: await mintToken(fleet, siteB!),
  });
  const first = startAgent(t, { fleetUrl: '', dataDir: box.dataDir, env: box.env });
  const id = await first.deviceId();
  await until('box B online', () => onlineAt(fleet, siteB!, id));
  first.kill('SIGTERM');
  await first.exited;

  // Later someone swaps the stick for one naming another fleet, and even the pin is gone.
  fs.rmSync(path.join(box.media, 'clerk'), { recursive: true });
  writeBootstrap(path.join(box.media, 'intruder', 'STICK'), { fleetUrl: attackerUrl, token: 'attacker-token-0002' });
  const again = startAgent(t, {
    fleetUrl: '',
    dataDir: box.dataDir,
    env: { ...box.env, DIEMCAU_BOOTSTRAP_PIN: path.join(root, 'no-pin.json') },
  });
  await until(
    'box B back online',
    async () =>
      (await fleet.api<{ online: boolean }>('GET', `/api/v1/devices/${id}`)).online &&
      again.output().includes('agent running'),
  );
  t.equal(
    (JSON.parse(fs.readFileSync(path.join(box.dataDir, 'identity.json'), 'utf8')) as { deviceId: string }).deviceId,
    id,
    'same identity',
  );
  t.same(attackerHits, [], 'no enrolment anywhere else');
  t.notMatch(again.output(), /"msg":"enrolling"/, 'it did not enrol again');
});
