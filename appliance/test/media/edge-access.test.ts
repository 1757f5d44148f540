// The edge's access classes are required, not defaulted: a route registered
// without one (or with one the access hook does not know) stops the edge at
// start, so a forgotten `config.access` can never become an open door.
import t from 'tap';
import Fastify from 'fastify';
import { requireAccessClass } from '../../src/media/api/access.js';

t.test('a route without a known access class is refused at registration', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  requireAccessClass(app);
  t.throws(
    () => app.get('/media/v1/forgotten', async () => 'open'),
    { code: 'APPL_ERR_CONFIG', message: /names no access class/ },
    'no access class',
  );
  const bogus = { access: 'everyone' } as unknown as { access: 'public' };
  t.throws(
    () => app.get('/media/v1/bogus', { config: bogus }, async () => 'open'),
    { code: 'APPL_ERR_CONFIG' },
    'an unknown access class',
  );
  app.get('/media/v1/named', { config: { access: 'public' } }, async () => 'ok');
  await app.ready();
  t.equal((await app.inject({ url: '/media/v1/named' })).statusCode, 200, 'a route that names its class is served');
  t.equal((await app.inject({ url: '/media/v1/forgotten' })).statusCode, 404, 'the refused one was never added');
});
