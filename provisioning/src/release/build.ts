// Builds one release: bundle the agent, package it, sign the manifest, and
// optionally upload both to a fleet through its API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codec, compareVersions, VersionSchema, type SignedManifest } from '@diemcau/shared';
import { bundleAgent } from './bundle.js';
import { packageRelease, type PackagedRelease } from './package.js';

export interface BuildOptions {
  entry: string;
  workspaceDir: string;
  version: string;
  minAgentVersion: string;
  outDir: string;
  keyId: string;
  privateKeyPem: string;
  notes?: string;
  created?: Date;
  /** Newer versions this release may replace: an emergency rollback (see parseRollbackFrom). */
  allowDowngradeFrom?: string[];
}

/**
 * The --rollback-from list: comma-separated versions, each newer than the
 * release being built (a rollback goes back from them). Throws on a mistake,
 * so nothing is built or signed with a list a box would misread.
 */
export function parseRollbackFrom(arg: string | undefined, version: string): string[] | undefined {
  if (arg === undefined) return undefined;
  const list = arg
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error('give at least one version the rollback may replace');
  const valid = codec(VersionSchema);
  for (const v of list) {
    if (!valid.check(v).ok) throw new Error(`${v} is not a version (x.y.z, no leading zeros)`);
    if (compareVersions(v, version) <= 0)
      throw new Error(`${v} is not newer than ${version}: a rollback replaces newer versions only`);
  }
  return [...new Set(list)];
}

export async function buildRelease(o: BuildOptions): Promise<PackagedRelease> {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-release-'));
  try {
    const bundle = await bundleAgent({
      entry: o.entry,
      outDir: staging,
      workspaceDir: o.workspaceDir,
      version: o.version,
    });
    return packageRelease({
      stagingDir: staging,
      outDir: o.outDir,
      version: o.version,
      minAgentVersion: o.minAgentVersion,
      native: bundle.native,
      requires: bundle.requires,
      ...(bundle.mediaLink ? { mediaLink: bundle.mediaLink } : {}),
      entry: 'agent.mjs',
      created: o.created ?? new Date(),
      keyId: o.keyId,
      privateKeyPem: o.privateKeyPem,
      ...(o.notes ? { notes: o.notes } : {}),
      ...(o.allowDowngradeFrom ? { allowDowngradeFrom: o.allowDowngradeFrom } : {}),
    });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Registers the signed manifest, then streams the artifact: POST /api/v1/releases, PUT …/artifact. */
export async function uploadRelease(
  fleetUrl: string,
  token: string,
  signed: SignedManifest,
  artifactFile: string,
  version: string,
): Promise<void> {
  const base = fleetUrl.replace(/\/$/, '');
  const auth = { authorization: `Bearer ${token}` };
  const reg = await fetch(`${base}/api/v1/releases`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(signed),
  });
  if (reg.status !== 201) throw new Error(`registering ${version}: HTTP ${reg.status} ${await reg.text()}`);
  const body = fs.readFileSync(artifactFile);
  const put = await fetch(`${base}/api/v1/releases/${encodeURIComponent(version)}/artifact`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body,
  });
  if (put.status !== 200) throw new Error(`uploading ${version}: HTTP ${put.status} ${await put.text()}`);
}
