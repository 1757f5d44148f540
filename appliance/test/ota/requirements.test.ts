// The requirement rule as a table: given what a box has installed and what a
// signed manifest requires, which requirements are unmet; and dpkg's version
// ordering, checked against dpkg itself where this machine has it.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { ReleaseRequirements } from '@diemcau/shared';
import { compareDebianVersions, describeUnmet, unmetRequirements, type BoxFacts } from '../../src/ota/requirements.js';
import { parsePackageList } from '../../src/ota/packages.js';

const bookworm = new Map([
  ['libssl3', '3.0.22-1~deb12u2'],
  ['libuv1', '1.44.2-1+deb12u1'],
  ['libsrtp2-1', '2.5.0-3'],
  ['libusrsctp2', '0.9.5.0-2'],
  ['libabsl20220623', '20220623.1-1+deb12u2'],
]);
const box = (over: Partial<BoxFacts> = {}): BoxFacts => ({ packages: bookworm, arch: 'x64', nodeAbi: '115', ...over });
const worker: ReleaseRequirements = {
  arch: 'x64',
  nodeAbi: '115',
  debian: [
    { package: 'libssl3', minVersion: '3.0.0' },
    { package: 'libuv1' },
    { package: 'libsrtp2-1', minVersion: '2.5.0' },
    { package: 'libusrsctp2' },
    { package: 'libabsl20220623' },
  ],
};
const without = (name: string) => new Map([...bookworm].filter(([n]) => n !== name));

t.test('unmet requirements', async (t) => {
  const rows: Array<
    [
      string,
      ReleaseRequirements | undefined,
      BoxFacts,
      Array<{ name: string; need: string | null; have: string | null }>,
    ]
  > = [
    ['no requirements: nothing to check', undefined, box({ packages: null }), []],
    ['a box with every library', worker, box(), []],
    [
      'libsrtp2-1 missing',
      worker,
      box({ packages: without('libsrtp2-1') }),
      [{ name: 'libsrtp2-1', need: '2.5.0', have: null }],
    ],
    [
      'a package without minimum, missing',
      worker,
      box({ packages: without('libuv1') }),
      [{ name: 'libuv1', need: null, have: null }],
    ],
    [
      'libssl3 too old (OpenSSL 1.1 era name reused)',
      { debian: [{ package: 'libssl3', minVersion: '3.0.22' }] },
      box({ packages: new Map([['libssl3', '3.0.11-1~deb12u2']]) }),
      [{ name: 'libssl3', need: '3.0.22', have: '3.0.11-1~deb12u2' }],
    ],
    [
      'a tilde build is older than its release',
      { debian: [{ package: 'libssl3', minVersion: '3.0.22-1' }] },
      box({ packages: new Map([['libssl3', '3.0.22-1~deb12u2']]) }),
      [{ name: 'libssl3', need: '3.0.22-1', have: '3.0.22-1~deb12u2' }],
    ],
    [
      'an epoch wins over the upstream number',
      { debian: [{ package: 'libfoo', minVersion: '9.0' }] },
      box({ packages: new Map([['libfoo', '1:1.0']]) }),
      [],
    ],
    ['another architecture', worker, box({ arch: 'arm64' }), [{ name: 'arch', need: 'x64', have: 'arm64' }]],
    [
      'another Node ABI (addons built for Node 20 on Node 22)',
      worker,
      box({ nodeAbi: '127' }),
      [{ name: 'node-abi', need: '115', have: '127' }],
    ],
    [
      'packages unknown: every package counts as unmet',
      worker,
      box({ packages: null }),
      worker.debian.map((d) => ({ name: d.package, need: d.minVersion ?? null, have: null })),
    ],
  ];
  for (const [name, req, facts, want] of rows) {
    t.same(
      unmetRequirements(req, facts).map((u) => ({ name: u.name, need: u.need, have: u.have })),
      want,
      name,
    );
  }
  t.equal(
    describeUnmet(
      unmetRequirements(
        worker,
        box({ packages: new Map([...without('libsrtp2-1')].map(([n, v]) => [n, n === 'libssl3' ? '1.1.1w-0' : v])) }),
      ),
    ),
    'libssl3 1.1.1w-0 older than 3.0.0; libsrtp2-1 not installed',
  );
});

const ordered: Array<[string, string, number]> = [
  ['1.0', '1.0', 0],
  ['1.0', '1.0-0', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~~', '1.0~', -1],
  ['1.0', '1.0a', -1],
  ['1.0a', '1.0+', -1],
  ['1.0.1', '1.0', 1],
  ['1.10', '1.9', 1],
  ['1.01', '1.1', 0],
  ['2:0.1', '1:9.9', 1],
  ['3.0.22-1~deb12u2', '3.0.22-1', -1],
  ['3.0.22-1~deb12u2', '3.0.11-1~deb12u2', 1],
  ['20220623.1-1+deb12u2', '20220623.1-1', 1],
  ['0.9.5.0-2', '0.9.5-2', 1],
];

t.test('dpkg version order', async (t) => {
  for (const [a, b, want] of ordered) {
    t.equal(compareDebianVersions(a, b), want, `${a} vs ${b}`);
    t.equal(compareDebianVersions(b, a), -want, `${b} vs ${a}`);
  }
});

const hasDpkg = (() => {
  try {
    execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

t.test(
  'the same order as dpkg --compare-versions',
  { skip: hasDpkg ? false : 'no dpkg on this machine' },
  async (t) => {
    for (const [a, b] of ordered) {
      const lt = (() => {
        try {
          execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
          return true;
        } catch {
          return false;
        }
      })();
      t.equal(compareDebianVersions(a, b) < 0, lt, `${a} < ${b} as dpkg says`);
    }
  },
);

t.test('package lists: dpkg-query lines and simulated lines', async (t) => {
  const m = parsePackageList('libssl3 ii  3.0.22-1~deb12u2\nlibsrtp2-1 rc  2.5.0-3\nlibuv1:amd64 ii  1.44.2-1\n');
  t.same(
    [...m],
    [
      ['libssl3', '3.0.22-1~deb12u2'],
      ['libuv1', '1.44.2-1'],
    ],
    'removed packages (rc) do not count; the arch suffix is dropped',
  );
  t.same([...parsePackageList('# a simulated box\nlibssl3 3.0.22-1\n\n')], [['libssl3', '3.0.22-1']]);
});
