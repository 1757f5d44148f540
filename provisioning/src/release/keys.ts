// The release signing key: an ed25519 pair made once on the release
// manager's machine. The private key never goes to the fleet; the fleet and
// every box get only the public half (trusted-keys.json).
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { keyIdOf, type TrustedKey } from '@diemcau/shared';

export interface GeneratedKey {
  keyId: string;
  privateKeyFile: string;
  publicKeyFile: string;
  trustedKeysFile: string;
}

export function generateReleaseKey(outDir: string, name = 'release-signing'): GeneratedKey {
  fs.mkdirSync(outDir, { recursive: true });
  const privateKeyFile = path.join(outDir, `${name}.key`);
  if (fs.existsSync(privateKeyFile)) throw new Error(`${privateKeyFile} exists; refusing to overwrite a signing key`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyId = keyIdOf(publicKeyPem);
  fs.writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  const publicKeyFile = path.join(outDir, `${name}.pub.pem`);
  fs.writeFileSync(publicKeyFile, publicKeyPem);
  const trustedKeysFile = path.join(outDir, 'trusted-keys.json');
  const trusted: TrustedKey[] = fs.existsSync(trustedKeysFile)
    ? (JSON.parse(fs.readFileSync(trustedKeysFile, 'utf8')) as TrustedKey[])
    : [];
  fs.writeFileSync(trustedKeysFile, `${JSON.stringify([...trusted, { keyId, publicKeyPem }], null, 2)}\n`);
  return { keyId, privateKeyFile, publicKeyFile, trustedKeysFile };
}

/** The private key and its id (derived from the public half unless given). */
export function readSigningKey(file: string, keyId?: string): { keyId: string; privateKeyPem: string } {
  const privateKeyPem = fs.readFileSync(file, 'utf8');
  if (keyId) return { keyId, privateKeyPem };
  // createPublicKey accepts a private key and derives the public half.
  const pub = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(pub), privateKeyPem };
}
