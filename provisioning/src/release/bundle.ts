// Bundles the agent into one ESM file with esbuild (and the media edge beside it, edge.mjs). Native modules stay
// outside the bundle and travel beside it in the release's own node_modules
// (natives.ts), so each versions/<v>/ on a box has its own worker and addons;
// the manifest lists them and the Debian libraries they link against.
import fs from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import type { ReleaseRequirements } from '@diemcau/shared';
import { copyNatives, mediaLinkFor, requirementsFor } from './natives.js';

/** Modules with compiled parts: never bundled, carried in the release's node_modules, pinned in the manifest. */
export const NATIVE_MODULES = ['mediasoup', 'onoff', 'better-sqlite3'] as const;

export interface BundleResult {
  files: string[];
  native: { name: string; version: string }[];
  /** What a box needs to load the natives (the manifest's `requires`). */
  requires: ReleaseRequirements;
  /** The SRTP suites its edges speak on pipe links (absent without mediasoup). */
  mediaLink?: { srtpSuites: string[] };
}

export async function bundleAgent(opts: {
  entry: string;
  outDir: string;
  workspaceDir: string;
  version: string;
}): Promise<BundleResult> {
  const pkg = JSON.parse(fs.readFileSync(path.join(opts.workspaceDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const deps = pkg.dependencies ?? {};
  const native = NATIVE_MODULES.filter((m) => m in deps).map((name) => ({
    name,
    version: installedVersion(opts.workspaceDir, name) ?? deps[name]!,
  }));
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    logLevel: 'error' as const,
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: {
      js: "import { createRequire as __diemcauRequire } from 'node:module'; const require = __diemcauRequire(import.meta.url);",
    },
  };
  // The pre-start boot check, small and separate so it runs even when the agent cannot load.
  const bootEntry = path.join(opts.workspaceDir, 'src', 'ota', 'boot-main.ts');
  if (fs.existsSync(bootEntry))
    await build({ ...common, entryPoints: [bootEntry], outfile: path.join(opts.outDir, 'ota-boot.mjs') });
  // The OS update unit's program (root, apt): small and separate, it never loads the agent.
  const osEntry = path.join(opts.workspaceDir, 'src', 'os', 'apply-main.ts');
  if (fs.existsSync(osEntry))
    await build({ ...common, entryPoints: [osEntry], outfile: path.join(opts.outDir, 'os-update.mjs') });
  await build({
    ...common,
    entryPoints: [opts.entry],
    outfile: path.join(opts.outDir, 'agent.mjs'),
    sourcemap: 'linked',
    external: native.map((n) => n.name),
  });
  await bundleEdge(
    opts.workspaceDir,
    opts.outDir,
    native.map((n) => n.name),
    common,
  );
  // esbuild names a map's sources relative to the map, here a temporary staging directory: the
  // paths climbed out of it into the build server's checkout ("../../<checkout>/appliance/src/…"),
  // so the release carried where it was built, and two checkouts built different bytes.
  for (const map of ['agent.mjs.map', 'edge.mjs.map'])
    repoRelativeSources(path.join(opts.outDir, map), path.dirname(opts.workspaceDir));
  fs.writeFileSync(
    path.join(opts.outDir, 'package.json'),
    `${JSON.stringify({ name: 'diemcau-agent', version: opts.version, private: true, type: 'module', main: 'agent.mjs', dependencies: Object.fromEntries(native.map((n) => [n.name, n.version])) }, null, 2)}\n`,
  );
  const copied = copyNatives(
    opts.workspaceDir,
    opts.outDir,
    native.map((n) => n.name),
  );
  const mediaLink = mediaLinkFor(copied);
  return {
    files: fs.readdirSync(opts.outDir),
    native,
    requires: requirementsFor(copied),
    ...(mediaLink ? { mediaLink } : {}),
  };
}

/** Rewrites a source map's sources relative to the repository ("appliance/src/main.ts"), as if the sources sat beside the bundle. */
export function repoRelativeSources(mapFile: string, repoDir: string): void {
  if (!fs.existsSync(mapFile)) return;
  const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { sources?: string[] };
  map.sources = (map.sources ?? []).map((s) =>
    path
      .relative(repoDir, path.resolve(path.dirname(mapFile), s))
      .split(path.sep)
      .join('/'),
  );
  fs.writeFileSync(mapFile, JSON.stringify(map));
}

/**
 * The media edge (edge.mjs, run by diemcau-edge.service) and the join page's
 * browser script, bundled now so the box never runs esbuild. The edge looks
 * for join.bundle.js beside itself (appliance/src/media/web/page.ts).
 */
async function bundleEdge(
  workspaceDir: string,
  outDir: string,
  external: string[],
  common: BuildOptions,
): Promise<void> {
  const edgeEntry = path.join(workspaceDir, 'src', 'media', 'main.ts');
  if (!fs.existsSync(edgeEntry)) return;
  // esbuild stays external: the edge only imports it when join.bundle.js is missing (development).
  await build({
    ...common,
    entryPoints: [edgeEntry],
    outfile: path.join(outDir, 'edge.mjs'),
    sourcemap: 'linked',
    external: [...external, 'esbuild'],
  });
  await build({
    entryPoints: [path.join(workspaceDir, 'src', 'media', 'web', 'join.js')],
    outfile: path.join(outDir, 'join.bundle.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    logLevel: 'error',
  });
}

/** The version npm installed, walking up to the repository's node_modules. */
function installedVersion(from: string, name: string): string | null {
  let dir = path.resolve(from);
  for (;;) {
    const p = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(p)) return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}
