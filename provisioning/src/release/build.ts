// Builds one release: bundle the agent, package it, sign the manifest, and
// optionally upload both to a fleet through its API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SignedManifest } from '@diemcau/shared';
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
}

export async function buildRelease(o: BuildOptions): Promise<PackagedRelease> {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-release-'));
  try {
    const bundle = await bundleAgent({ entry: o.entry, outDir: staging, workspaceDir: o.workspaceDir, version: o.version });
    return packageRelease({
      stagingDir: staging,
      outDir: o.outDir,
      version: o.version,
      minAgentVersion: o.minAgentVersion,
      native: bundle.native,
      entry: 'agent.mjs',
      created: o.created ?? new Date(),
      keyId: o.keyId,
      privateKeyPem: o.privateKeyPem,
      ...(o.notes ? { notes: o.notes } : {}),
    });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Registers the signed manifest, then streams the artifact: POST /api/v1/releases, PUT …/artifact. */
export async function uploadRelease(fleetUrl: string, token: string, signed: SignedManifest, artifactFile: string, version: string): Promise<void> {
  const base = fleetUrl.replace(/\/$/, '');
  const auth = { authorization: `Bearer ${token}` };
  const reg = await fetch(`${base}/api/v1/releases`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(signed) });
  if (reg.status !== 201) throw new Error(`registering ${version}: HTTP ${reg.status} ${await reg.text()}`);
  const body = fs.readFileSync(artifactFile);
  const put = await fetch(`${base}/api/v1/releases/${encodeURIComponent(version)}/artifact`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body,
  });
  if (put.status !== 200) throw new Error(`uploading ${version}: HTTP ${put.status} ${await put.text()}`);
}
