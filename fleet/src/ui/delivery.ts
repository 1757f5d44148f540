import { constants as zlib } from 'node:zlib';
import fp from 'fastify-plugin';
import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { faviconIco } from '@diemcau/shared';

// How the fleet's responses travel: compressed when the client accepts it (the
// device list of 210 sites is ~160 KB of JSON, the bundle as much again; a
// commune's operator may be on a slow line), and the dashboard's documents
// under a strict Content-Security-Policy. Registered on the root before any
// route, so the compression hook reaches every route registered after it.
// Server-sent events hijack their reply and are never buffered or compressed.

/**
 * Nothing but the fleet's own files and API: no inline script or style (the
 * bundle sets styles through the CSSOM only), no plugins, no outside address.
 * The kiosk and join pages belong to the edge, not here; the one frame the
 * dashboard holds is an edge's join page, for the chair's roll-call picture,
 * so `frame-src` names the edges the fleet knows and nothing else.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The policy, with the edges' origins (scheme, host and port; nothing else) the page may frame. */
export function dashboardCsp(frameOrigins: readonly string[] = []): string {
  const origins = frameOrigins.filter((o) => /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/.test(o));
  return origins.length === 0 ? DASHBOARD_CSP : `${DASHBOARD_CSP}; frame-src ${origins.join(' ')}`;
}

/** Headers of every dashboard file: the policy, and no guessing of types or leaking of addresses. */
export function dashboardHeaders(reply: FastifyReply, frameOrigins: readonly string[] = []): FastifyReply {
  return reply
    .header('content-security-policy', dashboardCsp(frameOrigins))
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

const ICON = faviconIco();

export const deliveryPlugin = fp(
  async (app: FastifyInstance) => {
    // Small bodies are not worth the CPU; brotli at a middling quality costs
    // little more than gzip for much smaller JSON.
    await app.register(compress, {
      global: true,
      threshold: 1024,
      encodings: ['br', 'gzip', 'deflate'],
      brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } },
    });
    // Browsers ask for /favicon.ico whatever the page links; without it every
    // first visit logs a 404 and tabs show a blank square.
    app.get('/favicon.ico', { config: { public: true }, schema: { hide: true } }, (_req, reply) =>
      dashboardHeaders(reply).type('image/x-icon').header('cache-control', 'public, max-age=86400').send(ICON),
    );
  },
  { name: 'diemcau-delivery', dependencies: ['diemcau-context'] },
);
