// Releases on the fleet: the signed manifest is checked against the fleet's
// trusted keys when it is registered, the artifact is streamed to
// <dataDir>/releases/<version>/<artifact> and its size and SHA-256 checked
// against the manifest before it can be rolled out. The fleet never holds a
// signing key: it can only pass on what the release manager signed.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { DiemcauError, compareVersions, verifyManifest, type SignedManifest, type TrustedKey } from '@diemcau/shared';
import type { OtaRepo, ReleaseRecord } from './repo.js';

export class ReleaseService {
  constructor(
    private readonly store: OtaRepo,
    private readonly dir: string,
    private readonly trusted: () => readonly TrustedKey[],
    private readonly log: Logger,
  ) {}

  /** Registers a signed manifest; the artifact follows with putArtifact(). */
  async register(signed: SignedManifest, by: string | null): Promise<ReleaseRecord> {
    let manifest;
    try {
      manifest = verifyManifest(signed, this.trusted());
    } catch (err) {
      throw new DiemcauError('FLEET_ERR_RELEASE_INVALID', (err as Error).message, { cause: err });
    }
    // One version, one content: boxes skip a version they already run, so a
    // second build under the same number would reach some boxes and not others.
    const existing = await this.store.release(manifest.version);
    if (existing) {
      if (existing.signed.payload === signed.payload) return existing;
      this.log.warn({ version: manifest.version, by }, 'release refused: the version exists with other contents');
      throw new DiemcauError('FLEET_ERR_CONFLICT', `release ${manifest.version} exists with other contents`);
    }
    // Releases only move forward: an old, validly signed release replayed by
    // whoever holds an admin token must not become installable again. An
    // emergency rollback is the release manager's decision, signed into the manifest.
    const newest = await this.newest();
    if (newest && compareVersions(manifest.version, newest.version) < 0 && !manifest.allowDowngradeFrom) {
      this.log.warn(
        { version: manifest.version, newest: newest.version, by },
        'release refused: older than the newest accepted',
      );
      throw new DiemcauError(
        'FLEET_ERR_RELEASE_DOWNGRADE',
        `release ${manifest.version} is older than ${newest.version}; sign it with allowDowngradeFrom (release:build --rollback-from) to roll back`,
      );
    }
    await this.store.putRelease({
      version: manifest.version,
      signed,
      manifest,
      uploadedAt: new Date().toISOString(),
      uploadedBy: by,
    });
    this.log.info({ version: manifest.version, size: manifest.size, keyId: signed.keyId }, 'release registered');
    return (await this.store.release(manifest.version))!;
  }

  /** The highest version registered (the fleet carries one line of releases: the site agent's). */
  async newest(): Promise<ReleaseRecord | undefined> {
    let best: ReleaseRecord | undefined;
    for (const r of await this.store.releases()) if (!best || compareVersions(r.version, best.version) > 0) best = r;
    return best;
  }

  artifactPath(r: ReleaseRecord): string {
    return path.join(this.dir, r.version, r.manifest.artifact);
  }

  /** Streams the artifact in; kept only when its size and hash match the manifest. */
  async putArtifact(version: string, body: Readable): Promise<ReleaseRecord> {
    const r = await this.store.release(version);
    if (!r) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `release ${version}`);
    if (r.artifactReady) throw new DiemcauError('FLEET_ERR_CONFLICT', `release ${version} already has its artifact`);
    const final = this.artifactPath(r);
    await fs.promises.mkdir(path.dirname(final), { recursive: true });
    const tmp = `${final}.upload`;
    const hash = createHash('sha256');
    let size = 0;
    const limit = r.manifest.size;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limit)
          return cb(
            new DiemcauError('FLEET_ERR_RELEASE_INVALID', `artifact is larger than the manifest's ${limit} bytes`),
          );
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, fs.createWriteStream(tmp));
      const sha = hash.digest('hex');
      if (size !== limit || sha !== r.manifest.sha256) {
        throw new DiemcauError(
          'FLEET_ERR_RELEASE_INVALID',
          `artifact is ${size} bytes with sha256 ${sha}; manifest says ${limit} and ${r.manifest.sha256}`,
        );
      }
      await fs.promises.rename(tmp, final);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    await this.store.markArtifactReady(version);
    this.log.info({ version, size }, 'release artifact stored');
    return (await this.store.release(version))!;
  }

  async ready(version: string): Promise<ReleaseRecord> {
    const r = await this.store.release(version);
    if (!r || !r.artifactReady) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `release ${version} (or its artifact)`);
    return r;
  }
}
