// A real Debian package mirror in miniature, for the OS update tests: tiny
// packages built with dpkg-deb (no maintainer scripts), published as dated
// snapshots the way a province's mirror publishes them (dists/<suite> with a
// Packages index and an InRelease signed by a gpg key made for the test),
// and served over HTTP. The index files are written here, as
// dpkg-scanpackages and apt-ftparchive would, so the test needs neither.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SUITE = 'bookworm';
export const COMPONENT = 'main';

export interface PackageSpec {
  name: string;
  version: string;
  /** Files the package installs: path under / → content. */
  files: Record<string, string>;
}

export interface AptMirror {
  dir: string;
  /** The mirror's signing key as a keyring file (what a box lists in DIEMCAU_OS_KEYRINGS). */
  keyring: string;
  /** A second key that signed nothing here (a box that trusts only it must refuse the snapshots). */
  otherKeyring: string;
  /** The HTTP base URL, http://host:port */
  url: string;
  /** The architecture Packages indexes are published for (the host's, as dpkg says it). */
  arch: string;
  /** Builds the packages and publishes them as snapshot `name`, signed. */
  publish(name: string, packages: readonly PackageSpec[]): Promise<void>;
  /** A .deb built for `p` (to seed a scratch root with dpkg -i). */
  deb(p: PackageSpec): Promise<string>;
  /** The URI of a snapshot as a box's sources take it, reachable at `host` (default the server's). */
  snapshotUri(name: string, host?: string): string;
  /** Requests the server answered, by path. */
  requests: string[];
  close(): Promise<void>;
}

export async function startAptMirror(opts: { host?: string } = {}): Promise<AptMirror> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-apt-mirror-'));
  const gnupg = path.join(dir, 'gnupg');
  fs.mkdirSync(gnupg, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupg };
  const gpg = (...args: string[]) => run('gpg', ['--batch', '--quiet', '--passphrase', '', ...args], { env });
  await gpg('--quick-gen-key', 'Diemcau test mirror <mirror@example.invalid>', 'ed25519', 'sign', 'never');
  await gpg('--quick-gen-key', 'Someone else <other@example.invalid>', 'ed25519', 'sign', 'never');
  const keyring = path.join(dir, 'mirror-key.gpg');
  const otherKeyring = path.join(dir, 'other-key.gpg');
  fs.writeFileSync(
    keyring,
    (await run('gpg', ['--export', 'mirror@example.invalid'], { env, encoding: 'buffer' })).stdout,
  );
  fs.writeFileSync(
    otherKeyring,
    (await run('gpg', ['--export', 'other@example.invalid'], { env, encoding: 'buffer' })).stdout,
  );
  const arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  const requests: string[] = [];

  const root = path.join(dir, 'www');
  fs.mkdirSync(root);
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(url);
    const file = path.join(root, path.normalize(url));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const debs = path.join(dir, 'debs');
  fs.mkdirSync(debs);
  const deb: AptMirror['deb'] = async (p) => {
    const out = path.join(debs, `${p.name}_${p.version}_all.deb`);
    if (fs.existsSync(out)) return out;
    const tree = fs.mkdtempSync(path.join(dir, 'pkg-'));
    fs.mkdirSync(path.join(tree, 'DEBIAN'));
    fs.writeFileSync(
      path.join(tree, 'DEBIAN', 'control'),
      `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: all\nMaintainer: Diemcau tests <tests@example.invalid>\n` +
        `Description: a package for the OS update tests\n it installs a few small files\n`,
    );
    for (const [file, content] of Object.entries(p.files)) {
      const target = path.join(tree, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, out]);
    fs.rmSync(tree, { recursive: true, force: true });
    return out;
  };

  const publish: AptMirror['publish'] = async (name, packages) => {
    const base = path.join(root, 'snapshots', name);
    const stanzas: string[] = [];
    for (const p of packages) {
      const built = await deb(p);
      const rel = `pool/${COMPONENT}/${path.basename(built)}`;
      fs.mkdirSync(path.join(base, path.dirname(rel)), { recursive: true });
      fs.copyFileSync(built, path.join(base, rel));
      const bytes = fs.readFileSync(built);
      const control = (await run('dpkg-deb', ['-f', built])).stdout.trimEnd();
      stanzas.push(
        `${control}\nFilename: ${rel}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n`,
      );
    }
    const indexRel = `${COMPONENT}/binary-${arch}/Packages`;
    const dists = path.join(base, 'dists', SUITE);
    fs.mkdirSync(path.join(dists, path.dirname(indexRel)), { recursive: true });
    const index = Buffer.from(stanzas.join('\n'));
    fs.writeFileSync(path.join(dists, indexRel), index);
    const release =
      `Origin: Diemcau test mirror\nLabel: snapshot ${name}\nSuite: ${SUITE}\nCodename: ${SUITE}\n` +
      `Date: ${new Date().toUTCString()}\nArchitectures: ${arch}\nComponents: ${COMPONENT}\nSHA256:\n` +
      ` ${createHash('sha256').update(index).digest('hex')} ${index.length} ${indexRel}\n`;
    fs.writeFileSync(path.join(dists, 'Release'), release);
    await gpg(
      '--local-user',
      'mirror@example.invalid',
      '--clearsign',
      '--output',
      path.join(dists, 'InRelease'),
      path.join(dists, 'Release'),
    );
  };

  return {
    dir,
    keyring,
    otherKeyring,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    arch,
    publish,
    deb,
    snapshotUri: (name, host) => `http://${host ?? opts.host ?? '127.0.0.1'}:${port}/snapshots/${name}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // gpg started an agent for this home: stop it, then remove everything.
      await run('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A scratch root apt and dpkg can work in without touching the host's
 * packages: an empty dpkg database, apt's state and cache directories, and
 * an apt configuration that clears the host's hooks (debconf's preconfigure,
 * cache cleaners), which would otherwise run, since apt reads the host's
 * apt.conf.d before any option given to it.
 */
export function scratchRoot(): { root: string; aptConfig: string; close(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-root-'));
  for (const d of [
    'var/lib/dpkg/info',
    'var/lib/dpkg/updates',
    'var/lib/dpkg/triggers',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
    'var/log/apt',
    'etc/apt/apt.conf.d',
    'etc/apt/preferences.d',
    'etc/apt/trusted.gpg.d',
    'etc/apt/sources.list.d',
  ])
    fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/available'), '');
  const aptConfig = path.join(root, 'apt-test.conf');
  fs.writeFileSync(
    aptConfig,
    [
      '#clear DPkg::Pre-Install-Pkgs;',
      '#clear DPkg::Pre-Invoke;',
      '#clear DPkg::Post-Invoke;',
      '#clear APT::Update::Pre-Invoke;',
      '#clear APT::Update::Post-Invoke;',
      '#clear APT::Update::Post-Invoke-Success;',
      '#clear Acquire::http::Proxy;',
      '',
    ].join('\n'),
  );
  return { root, aptConfig, close: () => fs.rmSync(root, { recursive: true, force: true }) };
}
