// Turns a staging directory into a release: a gzip'd tar (sorted names,
// fixed owner and time, so the same input gives the same bytes), and the
// ed25519-signed manifest that names its size and SHA-256.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  releaseManifestCodec,
  signManifest,
  type ReleaseManifest,
  type ReleaseRequirements,
  type SignedManifest,
} from '@diemcau/shared';

export interface PackageOptions {
  stagingDir: string;
  outDir: string;
  version: string;
  minAgentVersion: string;
  native: { name: string; version: string }[];
  /** What a box must have for the natives; signed with the rest. */
  requires?: ReleaseRequirements;
  /** The SRTP suites the edges speak on pipe links; signed with the rest. */
  mediaLink?: { srtpSuites: string[] };
  entry: string;
  created: Date;
  keyId: string;
  privateKeyPem: string;
  notes?: string;
  /** An emergency rollback: the newer versions this release may replace (signed into the manifest). */
  allowDowngradeFrom?: string[];
}

export interface PackagedRelease {
  artifactFile: string;
  manifestFile: string;
  manifest: ReleaseManifest;
  signed: SignedManifest;
}

export function packageRelease(o: PackageOptions): PackagedRelease {
  // An unsigned copy inside the tarball tells an image builder what it holds.
  fs.writeFileSync(
    path.join(o.stagingDir, 'manifest.json'),
    `${JSON.stringify({ version: o.version, entry: o.entry, minAgentVersion: o.minAgentVersion, native: o.native, ...(o.requires ? { requires: o.requires } : {}), created: o.created.toISOString() }, null, 2)}\n`,
  );
  fs.mkdirSync(o.outDir, { recursive: true });
  const artifact = `diemcau-agent-${o.version}.tar.gz`;
  const artifactFile = path.join(o.outDir, artifact);
  const mtime = `@${Math.floor(o.created.getTime() / 1000)}`;
  execFileSync('tar', [
    '--sort=name',
    `--mtime=${mtime}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-czf',
    artifactFile,
    '-C',
    o.stagingDir,
    '.',
  ]);
  const bytes = fs.readFileSync(artifactFile);
  // Every file, node_modules included: the box checks its free disk against this.
  const unpackedSize = treeSize(o.stagingDir);
  const manifest: ReleaseManifest = {
    v: 1,
    version: o.version,
    artifact,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    unpackedSize,
    minAgentVersion: o.minAgentVersion,
    created: o.created.toISOString(),
    entry: o.entry,
    native: o.native,
    ...(o.requires ? { requires: o.requires } : {}),
    ...(o.mediaLink ? { mediaLink: o.mediaLink } : {}),
    ...(o.notes ? { notes: o.notes } : {}),
    ...(o.allowDowngradeFrom ? { allowDowngradeFrom: o.allowDowngradeFrom } : {}),
  };
  // The same schema every box and the fleet apply: a bad manifest is never signed.
  const checked = releaseManifestCodec.check(manifest);
  if (!checked.ok) throw new Error(`the manifest would be invalid: ${checked.error.message}`);
  const signed = signManifest(manifest, o.keyId, o.privateKeyPem);
  const manifestFile = path.join(o.outDir, `diemcau-agent-${o.version}.manifest.json`);
  fs.writeFileSync(manifestFile, `${JSON.stringify(signed, null, 2)}\n`);
  return { artifactFile, manifestFile, manifest, signed };
}

function treeSize(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += treeSize(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}
