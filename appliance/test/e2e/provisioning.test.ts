import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ADMIN_TOKEN, startAgent, startFleet, startProgram, tempDir, until, type Fleet } from './procs.js';

// Plug-and-play as the province does it, with real processes: the operator
// imports a CSV of sites and pre-registers a box's serial with the CLI; that
// box (simulated hardware reporting the serial) enrols with no token at all.
// A second box enrols from a bootstrap file that `provision token` wrote into
// a folder standing in for a USB stick. Both show up online under their sites.

const CSV = `id,name,kind,parent,address,contact
tn-district,Huyện Thử Nghiệm,district,,"Thị trấn, Huyện Thử Nghiệm",0216 000 000
tn-xa-mot,Xã Một,commune,tn-district,Thôn 1,
tn-xa-hai,Xã Hai,commune,tn-district,,0912 345 678
`;

async function provision(t: Parameters<typeof startProgram>[0], fleet: Fleet, args: string[]): Promise<string> {
  const cli = startProgram(
    t,
    'provisioning/src/main.ts',
    { DIEMCAU_FLEET_URL: fleet.url, DIEMCAU_OPERATOR_TOKEN: ADMIN_TOKEN },
    args,
  );
  const { code } = await cli.exited;
  if (code !== 0) throw new Error(`provision ${args.join(' ')} exited ${code}: ${cli.output().slice(-1500)}`);
  return cli.output();
}

const deviceAt = async (fleet: Fleet, siteId: string, deviceId: string) =>
  (
    await fleet.api<{ items: { id: string; online: boolean; serial: string | null }[] }>(
      'GET',
      `/api/v1/devices?siteId=${siteId}`,
    )
  ).items.find((d) => d.id === deviceId && d.online);

t.test('import sites, pre-register a serial, a box enrols by serial; another from a USB stick', async (t) => {
  const root = tempDir(t, 'e2e-provisioning');
  const fleet = await startFleet(t, { dataDir: path.join(root, 'fleet') });
  const csv = path.join(root, 'sites.csv');
  fs.writeFileSync(csv, CSV);

  t.match(await provision(t, fleet, ['import', csv]), /imported 3 sites: 3 created, 0 updated, 0 unchanged/);
  t.match(
    await provision(t, fleet, ['import', csv]),
    /0 created, 0 updated, 3 unchanged/,
    'importing again changes nothing',
  );
  const site = await fleet.api<{ name: string; parentId: string; contact?: string }>('GET', '/api/v1/sites/tn-xa-hai');
  t.same(site, { id: 'tn-xa-hai', name: 'Xã Hai', kind: 'commune', parentId: 'tn-district', contact: '0912 345 678' });

  // Pre-registered: no token anywhere, only the hardware serial.
  t.match(
    await provision(t, fleet, ['preregister', 'SN-TN-0001', 'tn-xa-mot']),
    /SN-TN-0001 will enrol into tn-xa-mot/,
  );
  const noBootstrapDirs = path.join(root, 'nothing-here');
  fs.mkdirSync(noBootstrapDirs);
  const boxA = startAgent(t, {
    fleetUrl: fleet.url,
    dataDir: path.join(root, 'box-a'),
    env: {
      DIEMCAU_SIM_SERIAL: 'SN-TN-0001',
      DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS: noBootstrapDirs,
      DIEMCAU_BOOTSTRAP_DIRS: noBootstrapDirs,
    },
  });
  const idA = await boxA.deviceId();
  const a = await until('box A online under Xã Một', () => deviceAt(fleet, 'tn-xa-mot', idA));
  t.equal(a.serial, 'SN-TN-0001', 'enrolled by its serial');
  t.match(boxA.output(), /"with":"serial"/, 'enrolled with no token');

  // Token on a stick: the agent finds the file under the removable-media root; no fleet URL in its environment.
  const media = path.join(root, 'media');
  const out = await provision(t, fleet, ['token', 'tn-xa-hai', '--out', path.join(media, 'clerk', 'DIEMCAU')]);
  t.match(out, /bootstrap file: .*diemcau-bootstrap\.json/);
  t.ok(fs.existsSync(path.join(media, 'clerk', 'DIEMCAU', 'tn-xa-hai-qr.png')), 'QR code as PNG next to it');
  const boxB = startAgent(t, {
    fleetUrl: '',
    dataDir: path.join(root, 'box-b'),
    env: { DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS: media, DIEMCAU_BOOTSTRAP_DIRS: noBootstrapDirs },
  });
  const idB = await boxB.deviceId();
  await until('box B online under Xã Hai', () => deviceAt(fleet, 'tn-xa-hai', idB));
  t.match(
    boxB.output(),
    /"source":\{"kind":"file","file":"[^"]*clerk\/DIEMCAU\/diemcau-bootstrap\.json"\}/,
    'bootstrap read from the stick',
  );

  // The new district's operator sees its boxes and nothing outside.
  const op = await fleet.api<{ token: string }>('POST', '/api/v1/operators', {
    name: 'TN',
    role: 'district-operator',
    districtId: 'tn-district',
  });
  const asOp = (p: string) => fetch(`${fleet.url}${p}`, { headers: { authorization: `Bearer ${op.token}` } });
  const theirs = (await (await asOp('/api/v1/devices')).json()) as { items: { id: string }[] };
  t.same(theirs.items.map((d) => d.id).sort(), [idA, idB].sort());
  t.equal((await asOp('/api/v1/sites/yb-city')).status, 403, 'a site outside its district');
});
