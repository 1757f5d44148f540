// HTTP face of OTA under /api/v1: releases (register a signed manifest, then
// upload its artifact; list; download with byte ranges) and rollouts
// (create, list, progress per ring, pause, resume, abort). The artifact
// download is public: a box fetches it with no operator token, and the
// artifact carries no secret; the box trusts it only after checking the
// signature and the hash itself.
import type {} from '@fastify/swagger';
import fs from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import {
  DiemcauError,
  OsStatusSchema,
  OtaStatusSchema,
  SignedManifestSchema,
  VersionSchema,
  parseByteRange,
  type SignedManifest,
} from '@diemcau/shared';
import '../api/types.js';
import { deviceForRequest, siteScope } from '../api/auth.js';
import { RolloutSpecSchema, type RolloutSpec } from './rollout-model.js';
import type { ReleaseService } from './releases.js';
import type { RolloutService } from './rollout-service.js';
import { ReleaseOut, RolloutOut } from './schemas.js';
import type { OtaRepo, ReleaseRecord } from './repo.js';

export interface OtaRoutesOptions {
  releases: ReleaseService;
  rollouts: RolloutService;
  store: OtaRepo;
  /** Counts artifact bytes sent (the bench reads it; so does the metrics endpoint). */
  onArtifactBytes: (n: number) => void;
}

const VersionParams = Type.Object({ version: VersionSchema });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const AbortBody = Type.Object(
  { reason: Type.String({ minLength: 3, maxLength: 500 }) },
  { additionalProperties: false },
);

// Response schemas (schemas.ts): they document the answers and make fastify serialise with
// a compiled stringifier that drops anything unlisted (api/schemas.ts).
const ErrorRef = Type.Ref('Error');

/** Answers of the rollout state changes (pause, resume, abort). */
const rolloutChange = { 200: RolloutOut, 404: ErrorRef, 409: ErrorRef };

const releaseView = (r: ReleaseRecord) => ({
  version: r.version,
  manifest: r.manifest,
  keyId: r.signed.keyId,
  artifactReady: r.artifactReady,
  uploadedAt: r.uploadedAt,
  uploadedBy: r.uploadedBy,
});

const who = (req: FastifyRequest): string | null => req.operator?.id ?? null;

export async function otaRoutes(app: FastifyInstance, opts: OtaRoutesOptions): Promise<void> {
  const { releases, rollouts } = opts;
  // The artifact upload is a raw byte stream: no JSON parsing, no body buffering.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.get(
    '/releases',
    {
      schema: {
        tags: ['ota'],
        summary: 'Releases known to the fleet',
        response: { 200: Type.Object({ items: Type.Array(ReleaseOut) }) },
      },
    },
    async () => ({
      items: (await opts.store.releases()).map(releaseView),
    }),
  );

  app.post<{ Body: SignedManifest }>(
    '/releases',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['ota'],
        summary: 'Register a signed release manifest',
        description:
          'Releases only move forward: a version older than the newest registered is refused (409 FLEET_ERR_RELEASE_DOWNGRADE) ' +
          'unless its signed manifest is an emergency rollback (allowDowngradeFrom). A version is registered once: ' +
          'the identical manifest again is accepted, other contents under it are refused (409 FLEET_ERR_CONFLICT).',
        body: SignedManifestSchema,
        response: { 201: ReleaseOut, 409: ErrorRef },
      },
    },
    async (req, reply) => {
      const r = await releases.register(req.body, who(req));
      req.auditDetails = { version: r.version, keyId: r.signed.keyId };
      return reply.status(201).send(releaseView(r));
    },
  );

  app.put<{ Params: Static<typeof VersionParams> }>(
    '/releases/:version/artifact',
    {
      config: { roles: ['admin'] },
      bodyLimit: 1024 * 1024 * 1024,
      schema: {
        tags: ['ota'],
        summary: 'Upload the artifact of a registered release (application/octet-stream)',
        description: 'Refused (400 FLEET_ERR_RELEASE_INVALID) when its size or sha256 differ from the signed manifest.',
        params: VersionParams,
        response: { 200: ReleaseOut, 404: ErrorRef, 409: ErrorRef, 413: ErrorRef },
      },
    },
    async (req) => {
      if (!req.headers['content-type']?.startsWith('application/octet-stream')) {
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'send the artifact as application/octet-stream');
      }
      return releaseView(await releases.putArtifact(req.params.version, req.body as Readable));
    },
  );

  app.get<{ Params: Static<typeof VersionParams> }>(
    '/releases/:version',
    {
      schema: {
        tags: ['ota'],
        summary: 'One release',
        params: VersionParams,
        response: { 200: ReleaseOut, 404: ErrorRef },
      },
    },
    async (req) => {
      const r = await opts.store.release(req.params.version);
      if (!r) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `release ${req.params.version}`);
      return releaseView(r);
    },
  );

  app.get<{ Params: Static<typeof VersionParams> }>(
    '/releases/:version/artifact',
    {
      config: { public: true },
      schema: {
        tags: ['ota'],
        summary: 'Download an artifact (supports Range: bytes=N-)',
        params: VersionParams,
        response: {
          200: {
            description: 'The whole artifact',
            content: { 'application/gzip': { schema: Type.String({ format: 'binary' }) } },
          },
          206: {
            description: 'The bytes asked for (Content-Range says which)',
            content: { 'application/gzip': { schema: Type.String({ format: 'binary' }) } },
          },
          404: ErrorRef,
          416: { description: 'The range starts past the end (Content-Range: bytes */size)', type: 'null' },
        },
      },
    },
    async (req, reply) => {
      const r = await releases.ready(req.params.version);
      const file = releases.artifactPath(r);
      const size = r.manifest.size;
      const range = parseByteRange(req.headers.range, size);
      void reply
        .header('Accept-Ranges', 'bytes')
        .header('Content-Type', 'application/gzip')
        .header('ETag', `"${r.manifest.sha256}"`);
      if (range === 'unsatisfiable') return reply.status(416).header('Content-Range', `bytes */${size}`).send();
      const { start, end } = range ?? { start: 0, end: size - 1 };
      void reply.header('Content-Length', String(end - start + 1));
      if (range) void reply.status(206).header('Content-Range', `bytes ${start}-${end}/${size}`);
      // An empty stream, not an empty body: fastify keeps our Content-Length for a stream.
      if (req.method === 'HEAD') return reply.send(Readable.from([]));
      const stream = fs.createReadStream(file, { start, end });
      stream.on('data', (chunk) => opts.onArtifactBytes(chunk.length));
      return reply.send(stream);
    },
  );

  app.get(
    '/rollouts',
    {
      schema: {
        tags: ['ota'],
        summary: 'Rollouts, newest first, with per-ring progress',
        response: { 200: Type.Object({ items: Type.Array(RolloutOut) }) },
      },
    },
    async (req) => ({ items: (await rollouts.list()).filter((v) => rolloutVisible(app, req, v)) }),
  );

  app.post<{ Body: RolloutSpec }>(
    '/rollouts',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['ota'],
        summary: 'Start a rollout of a release, or of an OS snapshot of the mirror, over a subtree, ring by ring',
        description:
          "Give `release` (an agent release) or `os` (a pinned snapshot of the province's Debian mirror, applied with apt on " +
          'each box, never during a meeting; boxes that reported the snapshot applied count as done). ' +
          'Boxes that run a newer version than the release are skipped with the reason (unless the release is a signed rollback ' +
          'from their version); a rollout that would only push boxes down is refused (409 FLEET_ERR_RELEASE_DOWNGRADE), ' +
          'and so is a release that a signed rollback withdrew (409 FLEET_ERR_CONFLICT).',
        body: RolloutSpecSchema,
        response: { 201: RolloutOut, 404: ErrorRef, 409: ErrorRef },
      },
    },
    async (req, reply) => {
      const v = await rollouts.create(req.body, who(req));
      req.auditTarget = `rollout:${v.id}`;
      req.auditDetails = {
        ...(v.spec.os ? { os: v.spec.os.snapshot } : { release: v.spec.release }),
        rootSiteId: v.spec.rootSiteId ?? null,
      };
      return reply.status(201).send(v);
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: { devices?: boolean } }>(
    '/rollouts/:id',
    {
      schema: {
        tags: ['ota'],
        summary: 'One rollout: state, per-ring progress, optionally every device',
        params: IdParams,
        querystring: Type.Object({ devices: Type.Optional(Type.Boolean()) }),
        response: { 200: RolloutOut, 404: ErrorRef },
      },
    },
    async (req) => {
      const v = await rollouts.view(req.params.id, req.query.devices === true);
      // An area operator sees rollouts over its sites (or the whole province), and of their devices only its own.
      if (!rolloutVisible(app, req, v)) throw new DiemcauError('FLEET_ERR_NOT_FOUND', req.params.id);
      const scope = siteScope(app, req);
      return scope && v.devices ? { ...v, devices: v.devices.filter((d) => scope.has(d.siteId)) } : v;
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/rollouts/:id/pause',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['ota'],
        summary: 'Pause: nobody new starts; updates in flight finish',
        params: IdParams,
        response: rolloutChange,
      },
    },
    async (req) => rollouts.pause(req.params.id),
  );
  app.post<{ Params: Static<typeof IdParams> }>(
    '/rollouts/:id/resume',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['ota'], summary: 'Resume a paused rollout', params: IdParams, response: rolloutChange },
    },
    async (req) => rollouts.resume(req.params.id),
  );
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AbortBody> }>(
    '/rollouts/:id/abort',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['ota'],
        summary: 'Abort: nobody new starts, for good',
        params: IdParams,
        body: AbortBody,
        response: rolloutChange,
      },
    },
    async (req) => rollouts.abort(req.params.id, req.body.reason),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/devices/:id/ota',
    {
      schema: {
        tags: ['ota'],
        summary: "A device's last OTA report",
        params: IdParams,
        // 403: the device is outside the operator's district.
        response: { 200: OtaStatusSchema, 403: ErrorRef, 404: ErrorRef },
      },
    },
    async (req) => {
      await deviceForRequest(app, req, req.params.id);
      const s = await opts.store.status(req.params.id);
      if (!s) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `no OTA report from ${req.params.id}`);
      return s;
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/devices/:id/os',
    {
      schema: {
        tags: ['ota'],
        summary: "A device's last operating system update report: the snapshot it runs and the packages apt changed",
        params: IdParams,
        response: { 200: OsStatusSchema, 403: ErrorRef, 404: ErrorRef },
      },
    },
    async (req) => {
      await deviceForRequest(app, req, req.params.id);
      const s = await opts.store.osStatus(req.params.id);
      if (!s) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `no OS update report from ${req.params.id}`);
      return s;
    },
  );
}

/** Whether the operator's area has sites in the rollout's subtree (the whole province when it names none). */
function rolloutVisible(
  app: FastifyInstance,
  req: FastifyRequest,
  v: { spec: { rootSiteId?: string | undefined } },
): boolean {
  const scope = siteScope(app, req);
  if (scope === null) return true;
  if (v.spec.rootSiteId === undefined) return scope.size > 0;
  return app.fleet.sites.subtree(v.spec.rootSiteId).some((id) => scope.has(id));
}
