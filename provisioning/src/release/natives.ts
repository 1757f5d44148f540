// A release's native parts travel inside it: the native modules (the
// mediasoup worker, better-sqlite3's and epoll's addons) and the JavaScript
// they need at run time are copied into the release's own node_modules, so
// they land in versions/<v>/node_modules on the box and switching the
// `current` link switches workers with the code that drives them. Node
// resolves versions/<v>/agent.mjs's imports there first; mediasoup finds its
// worker at worker/out/Release/mediasoup-worker inside its own package.
import fs from 'node:fs';
import path from 'node:path';
import type { ReleaseRequirements } from '@diemcau/shared';

/**
 * The Debian libraries each native module links against at run time (ldd
 * on the built binaries; provisioning/test/release/natives.test.ts checks
 * the list against ldd and dpkg). Versions are the oldest the worker was
 * built for: Debian 12's. The C library, libstdc++ and libgcc are in every
 * Debian system; libnss3 and libnspr4 come with libsrtp2-1 (its crypto).
 */
export const DEBIAN_LIBRARIES: Record<string, ReleaseRequirements['debian']> = {
  mediasoup: [
    { package: 'libssl3', minVersion: '3.0.0' },
    { package: 'libuv1', minVersion: '1.44' },
    { package: 'libsrtp2-1', minVersion: '2.5.0' },
    { package: 'libusrsctp2', minVersion: '0.9.5' },
    // The soname carries abseil's ABI: this package name is the version.
    { package: 'libabsl20220623' },
  ],
};

/** Run-time dependencies never copied: used only to install or build (prebuilt downloads, headers, types). */
const BUILD_ONLY = new Set(['prebuild-install', 'nan', 'node-gyp']);

/** Files of no use at run time: sources, build intermediates, types, maps, tests. */
function keep(rel: string): boolean {
  const parts = rel.split(path.sep);
  if (
    parts.some(
      (p) => p === 'obj.target' || p === '.deps' || p === 'deps' || p === 'test' || p === 'tests' || p === 'docs',
    )
  )
    return false;
  if (/\.(d\.ts|d\.mts|map|c|cc|cpp|h|hpp|gyp|gypi|mk|o|a)$/.test(rel)) return false;
  if (parts.at(-1) === 'test_extension.node') return false;
  return true;
}

export interface CopiedNative {
  name: string;
  version: string;
}

/**
 * Copies each native module and its run-time dependency closure from the
 * workspace's node_modules into `<outDir>/node_modules`. Throws when the
 * mediasoup worker was not built (npm's install scripts are off: setup
 * builds it), so a release is never made without its worker.
 */
export function copyNatives(workspaceDir: string, outDir: string, names: readonly string[]): CopiedNative[] {
  const dest = path.join(outDir, 'node_modules');
  const seen = new Set<string>();
  const copied: CopiedNative[] = [];
  const visit = (name: string, from: string): void => {
    if (seen.has(name) || BUILD_ONLY.has(name) || name.startsWith('@types/')) return;
    seen.add(name);
    const dir = packageDir(from, name);
    if (!dir) throw new Error(`${name} is not installed (needed at run time by the release's native parts)`);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      version: string;
      dependencies?: Record<string, string>;
    };
    const target = path.join(dest, name);
    if (name === 'mediasoup') copyMediasoup(dir, target);
    else fs.cpSync(dir, target, { recursive: true, filter: (src) => keep(path.relative(dir, src)) });
    copied.push({ name, version: pkg.version });
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
  };
  for (const n of names) visit(n, workspaceDir);
  return copied.sort((a, b) => a.name.localeCompare(b.name));
}

/** mediasoup without its worker's sources (8 MB of C++ and subprojects): only the built binary. */
function copyMediasoup(dir: string, target: string): void {
  const bin = path.join('worker', 'out', 'Release', 'mediasoup-worker');
  if (!fs.existsSync(path.join(dir, bin))) {
    throw new Error(
      `the mediasoup worker is not built (${path.join(dir, bin)} is missing): run node scripts/setup.mjs first`,
    );
  }
  fs.cpSync(dir, target, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(dir, src);
      if (rel === 'worker' || rel === path.join('worker', 'out') || rel === path.dirname(bin) || rel === bin)
        return true;
      if (rel.startsWith(`worker${path.sep}`)) return false;
      return keep(rel);
    },
  });
}

/** Node's lookup: <from>/node_modules/<name>, then each parent's. */
function packageDir(from: string, name: string): string | null {
  let dir = path.resolve(from);
  for (;;) {
    const p = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(p, 'package.json'))) return fs.realpathSync(p);
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** What the box must have for these natives: its arch, its Node ABI (addons), the Debian libraries. */
export function requirementsFor(natives: readonly CopiedNative[]): ReleaseRequirements {
  const debian = natives.flatMap((n) => DEBIAN_LIBRARIES[n.name] ?? []);
  return { arch: process.arch, nodeAbi: process.versions.modules, debian };
}

/**
 * The SRTP suites the release's edges use on pipe links, from the mediasoup
 * it carries: 3.10 and later pipe with AEAD_AES_256_GCM only, earlier ones
 * with AES_CM_128_HMAC_SHA1_80 only (the adapter asks for nothing else).
 * The fleet warns when a rollout would leave a meeting's edges unable to link.
 */
export function mediaLinkFor(natives: readonly CopiedNative[]): { srtpSuites: string[] } | undefined {
  const ms = natives.find((n) => n.name === 'mediasoup');
  if (!ms) return undefined;
  const [major = 0, minor = 0] = ms.version.split('.').map((x) => Number.parseInt(x, 10));
  return { srtpSuites: major > 3 || (major === 3 && minor >= 10) ? ['AEAD_AES_256_GCM'] : ['AES_CM_128_HMAC_SHA1_80'] };
}
