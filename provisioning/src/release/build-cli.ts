// npm run release:build -- --key <private key file> [--version 0.2.0] [--out dist/releases]
//   [--min-agent 0.1.0] [--key-id id] [--notes text] [--upload <fleet URL> --token <operator token>]
//   [--rollback-from 1.3.0[,1.3.1]]   an emergency rollback: this (older) release may replace exactly these versions
// Environment: DIEMCAU_RELEASE_KEY, DIEMCAU_RELEASE_KEY_ID, DIEMCAU_RELEASE_OUT, DIEMCAU_FLEET_URL, DIEMCAU_FLEET_TOKEN,
// SOURCE_DATE_EPOCH (the manifest's `created`: two builds of the same sources then give the same bytes).
// The signing key stays on the release manager's machine; the fleet only ever sees the signed result.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildRelease, parseRollbackFrom, uploadRelease } from './build.js';
import { loadProvisioningSettings } from '../settings.js';
import { readSigningKey } from './keys.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    key: { type: 'string' },
    'key-id': { type: 'string' },
    version: { type: 'string' },
    'min-agent': { type: 'string' },
    out: { type: 'string' },
    entry: { type: 'string' },
    notes: { type: 'string' },
    upload: { type: 'string' },
    token: { type: 'string' },
    'rollback-from': { type: 'string' },
  },
});

let settings: ReturnType<typeof loadProvisioningSettings>;
try {
  settings = loadProvisioningSettings(process.env);
} catch (err) {
  process.stderr.write(`release:build: ${(err as Error).message}\n`);
  process.exit(2);
}
const keyFile = values.key ?? settings.releaseKey;
if (!keyFile) {
  process.stderr.write(
    'release:build: give the signing key with --key <file> or DIEMCAU_RELEASE_KEY (make one with npm run release:keygen)\n',
  );
  process.exit(2);
}
const appliance = path.join(repo, 'appliance');
const version =
  values.version ??
  (JSON.parse(fs.readFileSync(path.join(appliance, 'package.json'), 'utf8')) as { version: string }).version;
let allowDowngradeFrom: string[] | undefined;
try {
  allowDowngradeFrom = parseRollbackFrom(values['rollback-from'], version);
} catch (err) {
  process.stderr.write(`release:build: --rollback-from: ${(err as Error).message}\n`);
  process.exit(2);
}
const key = readSigningKey(keyFile, values['key-id'] ?? settings.releaseKeyId);
const out = path.resolve(values.out ?? settings.releaseOut ?? path.join(repo, 'dist', 'releases'));

const r = await buildRelease({
  entry: path.resolve(values.entry ?? path.join(appliance, 'src', 'main.ts')),
  workspaceDir: appliance,
  version,
  minAgentVersion: values['min-agent'] ?? '0.1.0',
  outDir: out,
  keyId: key.keyId,
  privateKeyPem: key.privateKeyPem,
  ...(values.notes ? { notes: values.notes } : {}),
  ...(allowDowngradeFrom ? { allowDowngradeFrom } : {}),
  ...(settings.sourceDateEpoch !== undefined ? { created: new Date(settings.sourceDateEpoch * 1000) } : {}),
});
if (allowDowngradeFrom)
  process.stdout.write(
    `emergency rollback: boxes on ${allowDowngradeFrom.join(', ')} may take ${r.manifest.version}\n`,
  );
process.stdout.write(
  `release ${r.manifest.version}: ${r.artifactFile} (${r.manifest.size} bytes, sha256 ${r.manifest.sha256})\nsigned manifest (key ${key.keyId}): ${r.manifestFile}\n`,
);
const fleet = values.upload ?? settings.fleetUrl;
if (values.upload !== undefined || (fleet && settings.fleetToken)) {
  const token = values.token ?? settings.fleetToken;
  if (!fleet || !token) {
    process.stderr.write('release:build: uploading needs --upload <fleet URL> and --token (or DIEMCAU_FLEET_TOKEN)\n');
    process.exit(2);
  }
  await uploadRelease(fleet, token, r.signed, r.artifactFile, r.manifest.version);
  process.stdout.write(`uploaded to ${fleet}\n`);
}
