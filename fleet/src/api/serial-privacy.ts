import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import './types.js';

// A hardware serial is what a pre-registration is keyed on, so it is treated
// as half a credential: viewers (dashboards on a wall, read-only accounts)
// never receive one. Rather than trusting every route to remember, one hook
// takes every `serial` field out of every answer to a viewer, wherever it
// sits (device lists, device detail, a self-test's host summary, a command's
// output, audit details), and every `serial:` audit target. Routes written
// later are covered without knowing about it.

/** A copy of `value` with every `serial` property nulled and every "serial:…" string masked. */
export function withoutSerials(value: unknown, depth = 0): unknown {
  if (depth > 32) return null; // answers are shallow; a cycle or a bomb is not worth serving to a viewer
  if (typeof value === 'string') return value.startsWith('serial:') ? 'serial:(hidden)' : value;
  if (Array.isArray(value)) return value.map((v) => withoutSerials(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === 'serial' ? null : withoutSerials(v, depth + 1);
  return out;
}

export const serialPrivacyPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('preSerialization', async (request, _reply, payload) => {
      if (request.operator?.role !== 'viewer') return payload;
      return withoutSerials(payload);
    });
  },
  { name: 'diemcau-serial-privacy', dependencies: ['diemcau-auth'] },
);
