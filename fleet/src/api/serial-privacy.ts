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

/**
 * `value` with every `serial` property nulled and every "serial:…" string
 * masked. Copy on write: parts with no serial are returned as they are, so
 * a 10,000-device list costs one shallow copy per device, not a deep clone.
 */
export function withoutSerials(value: unknown, depth = 0): unknown {
  if (depth > 32) return null; // answers are shallow; a cycle or a bomb is not worth serving to a viewer
  if (typeof value === 'string') return value.startsWith('serial:') ? 'serial:(hidden)' : value;
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = withoutSerials(v, depth + 1);
      if (w !== v) (out ??= value.slice())[i] = w;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    const w = k === 'serial' ? (v === null || v === undefined ? v : null) : withoutSerials(v, depth + 1);
    if (w !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = w;
  }
  return out ?? value;
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
