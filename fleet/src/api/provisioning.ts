import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DiemcauError, SiteIdSchema, SiteSchema } from '@diemcau/shared';
import { canonicalSerial, SERIAL_MAX } from '../devices/serial.js';
import { planSiteImport } from '../provisioning/import-planner.js';
import { assertSiteAccess, siteScope } from './auth.js';
import { authErrors, ListOf, SiteOut } from './schemas.js';

// What the provisioning CLI needs beyond the sites and enrolment routes: the
// whole-province import, one site, and boxes listed by hardware serial before
// they arrive (plug-and-play enrolment with no token).

const Serial = Type.String({
  minLength: 1,
  maxLength: SERIAL_MAX,
  description:
    'hardware serial as DMI reports it; stored in one spelling (NFKC, spaces collapsed, upper case), printable ASCII only',
});

const PreregistrationOut = Type.Object({
  serial: Type.String(),
  siteId: Type.String(),
  note: Type.Union([Type.String(), Type.Null()]),
  /** Set once a box with this serial has enrolled (the last one, if registered again). */
  deviceId: Type.Union([Type.String(), Type.Null()]),
  /** When a box enrolled by it; null while it waits for a box. Registering again re-arms it. */
  usedAt: Type.Union([Type.String(), Type.Null()]),
  /** Until when a box may enrol by it; null: no limit (registered before limits existed). */
  armedUntil: Type.Union([Type.String(), Type.Null()]),
});

/** The serial in its one spelling, or a 400 that says why. */
function serialParam(raw: string): string {
  const c = canonicalSerial(raw);
  if (!c.ok) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', c.problem);
  return c.serial;
}

export const provisioningRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sites/import',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['sites'],
        summary: 'Create or update many sites at once; all or nothing, idempotent',
        body: Type.Object(
          { sites: Type.Array(SiteSchema, { minItems: 1, maxItems: 20_000 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ created: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer() }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const { repos, sites } = app.fleet;
      const plan = planSiteImport(await repos.sites.list(), request.body.sites, sites.kinds());
      request.auditTarget = 'sites';
      if (!plan.ok) {
        request.auditDetails = { problems: plan.problems.slice(0, 20) };
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `nothing imported: ${plan.problems.slice(0, 5).join('; ')}`, {
          details: plan.problems,
        });
      }
      // One transaction: a failure half way (a constraint, a full disk) leaves the registry as it was.
      await repos.sites.upsertMany([...plan.create, ...plan.update]);
      await sites.reload();
      const counts = { created: plan.create.length, updated: plan.update.length, unchanged: plan.unchanged.length };
      request.auditDetails = counts;
      return counts;
    },
  );

  app.get(
    '/sites/:siteId',
    {
      schema: {
        tags: ['sites'],
        summary: 'One site',
        params: Type.Object({ siteId: SiteIdSchema }),
        response: { 200: SiteOut, ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request) => {
      assertSiteAccess(app, request, request.params.siteId);
      return app.fleet.sites.get(request.params.siteId)!;
    },
  );

  app.post(
    '/preregistrations',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'List a box by hardware serial: when it first comes online it enrols into this site with no token',
        description:
          'One enrolment per registration, within ttlSec (default DIEMCAU_PREREGISTRATION_TTL_SEC, 30 days): registering the serial again re-arms it ' +
          '(re-imaging a box keeps its device id this way). ' +
          'A serial whose live device sits at another site is refused (revoke the device to move the box); ' +
          'a district operator can only register serials whose site, earlier registration and device are all in its district.',
        body: Type.Object(
          {
            serial: Serial,
            siteId: SiteIdSchema,
            note: Type.Optional(Type.String({ maxLength: 200 })),
            /** How long it stays armed; default DIEMCAU_PREREGISTRATION_TTL_SEC. */
            ttlSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 366 * 24 * 3600 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: PreregistrationOut, ...authErrors, 404: Type.Ref('Error'), 409: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      const { siteId, note } = request.body;
      const serial = serialParam(request.body.serial);
      request.auditTarget = `serial:${serial}`;
      assertSiteAccess(app, request, siteId);
      const { enrollment, devices } = app.fleet.repos;
      // Moving a serial out of a district is as much an action there as into one.
      const before = await enrollment.getSerial(serial);
      if (before) assertSiteAccess(app, request, before.siteId);
      // A serial bound to a live device is that device's: only someone who
      // may act on the device may arm it, and only for the device's own site
      // (a pre-registration re-images a box, it never moves one).
      const live = await devices.liveBySerial(serial);
      if (live) {
        assertSiteAccess(app, request, live.siteId);
        if (live.siteId !== siteId) {
          throw new DiemcauError(
            'FLEET_ERR_SERIAL_IN_USE',
            `serial ${serial} belongs to device ${live.id} at site ${live.siteId}; revoke that device first to enrol the box elsewhere`,
          );
        }
      }
      const ttlSec = request.body.ttlSec ?? app.fleet.config.preregistrationTtlSec;
      await enrollment.registerSerial(serial, siteId, note ?? null, new Date(Date.now() + ttlSec * 1000));
      request.auditDetails = {
        siteId,
        ...(before && before.siteId !== siteId ? { from: before.siteId } : {}),
        ...(before?.usedAt ? { rearmed: true } : {}),
        ...(live ? { reimages: live.id } : {}),
      };
      return reply.status(201).send((await enrollment.getSerial(serial))!);
    },
  );

  app.get(
    '/preregistrations',
    {
      // The list is serials, which viewers do not see.
      config: { roles: ['admin', 'area-operator'] },
      schema: {
        tags: ['enrolment'],
        summary: 'Pre-registered serials (an area operator sees its area)',
        querystring: Type.Object({ siteId: Type.Optional(Type.String()) }),
        response: { 200: ListOf(PreregistrationOut), ...authErrors },
      },
    },
    async (request) => {
      const scope = siteScope(app, request);
      const { siteId } = request.query;
      const items = (await app.fleet.repos.enrollment.listSerials())
        .filter((r) => (scope ? scope.has(r.siteId) : true))
        .filter((r) => (siteId === undefined ? true : r.siteId === siteId));
      return { items };
    },
  );

  app.delete(
    '/preregistrations/:serial',
    {
      schema: {
        tags: ['enrolment'],
        summary:
          'Forget a pre-registered serial: it no longer enrols by itself (an enrolled box keeps its credentials; revoke the device to stop it)',
        params: Type.Object({ serial: Serial }),
        response: { 204: Type.Null(), ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      const { enrollment } = app.fleet.repos;
      const serial = serialParam(request.params.serial);
      const r = await enrollment.getSerial(serial);
      if (!r) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `serial ${serial} is not pre-registered`);
      assertSiteAccess(app, request, r.siteId);
      await enrollment.unregisterSerial(r.serial);
      request.auditTarget = `serial:${r.serial}`;
      return reply.status(204).send(null);
    },
  );
};
