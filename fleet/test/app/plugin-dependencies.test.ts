// "Never reboot or update a site in a live meeting" depends on the meetings
// area being there. The areas that ask it (commands, rollouts, the alerts'
// meeting escalation) declare it as a fastify plugin dependency, so a fleet
// assembled without it, or with it registered after them, fails at start
// instead of treating every site as free.
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import t from 'tap';
import { commandsPlugin } from '../../src/commands/plugin.js';
import { otaPlugin } from '../../src/ota/plugin.js';
import { meetingEscalationPlugin } from '../../src/alerts/plugin.js';
import { meetingsPlugin } from '../../src/meetings/plugin.js';

/** A scope with the shared context plugin's name; the areas never run, so its value is never read. */
function scope() {
  const app = Fastify({ logger: false });
  void app.register(
    fp(
      async (a) => {
        a.decorate('fleet', {} as never);
      },
      { name: 'diemcau-context' },
    ),
  );
  return app;
}

const areas = [
  ['commands', commandsPlugin],
  ['ota', otaPlugin],
  ['meeting escalation', meetingEscalationPlugin],
] as const;

for (const [name, plugin] of areas) {
  t.test(`${name} without the meetings area: a start-up error`, async (t) => {
    const app = scope();
    void app.register(plugin as never, {});
    await t.rejects(async () => app.ready(), /diemcau-meetings/, 'ready() names the missing plugin');
    await app.close().catch(() => undefined);
  });

  t.test(`${name} registered before the meetings area: a start-up error`, async (t) => {
    const app = scope();
    void app.register(plugin as never, {});
    void app.register(meetingsPlugin);
    await t.rejects(async () => app.ready(), /diemcau-meetings/);
    await app.close().catch(() => undefined);
  });
}
