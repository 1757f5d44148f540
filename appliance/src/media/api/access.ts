// Who may call which route of the edge, decided on the route fastify MATCHED
// (its `config.access`), never on the path as spelled: percent-encodings,
// dot segments and absolute-form targets land on a route or on none. A route
// registered without an access class stops the edge at start (onRoute), and
// a request that reaches one anyway is refused: fail closed.
//
//   public   anyone (health, the join page and its script, the API document)
//   local    this box only, by its loopback source address (the TV's kiosk page)
//   admin    the edge's admin token, which never leaves the box (the agent, tests)
//   browser  a join link the fleet signed for this meeting and this edge's site,
//            the TV's own token, the admin token, or (a lab without a fleet, tests)
//            the fixed join token when one is set (browser-peer routes); the
//            request is labelled with which one, for its peer budget
//   link     the meeting's link token from the plan; once a link exists, only from
//            the address its offer was admitted from (link/admission.ts)
//
// Routes under /media/v1/meetings/:meetingId find their room here, after the
// token for admin and browser routes and before it for link routes (the link
// token belongs to the meeting), so a body is never read for a closed door.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DiemcauError, verifyJoinLink, type JoinClaims } from '@diemcau/shared';
import type { Edge } from '../edge.js';
import type { DownstreamLink } from '../link/downstream.js';
import type { MeetingRoom } from '../room.js';

export type Access = 'public' | 'local' | 'admin' | 'browser' | 'link';
export const ACCESS_CLASSES: readonly Access[] = ['public', 'local', 'admin', 'browser', 'link'];

/**
 * Which credential opened a browser-peer route: a label for the budget, never
 * the secret. The chair's roll-call picture (a `monitor` join link) has its
 * own share, so guests cannot crowd the chair out, nor the chair the guests.
 */
export type PeerToken = 'join' | 'monitor' | 'kiosk' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the edge's route (api/access.ts). Required on every edge route. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The meeting's room, on routes under /media/v1/meetings/:meetingId. */
    room: MeetingRoom | null;
    /** The downstream link, on routes under .../links/:linkId. */
    link: DownstreamLink | null;
    /** On browser-peer routes: which token opened it. */
    peerToken: PeerToken | null;
    /** On browser-peer routes opened by a join link: what the fleet signed. */
    joinClaims: JoinClaims | null;
  }
}

export interface Tokens {
  admin: string;
  /**
   * A fixed token for browsers, for an edge without a fleet (a lab, tests,
   * benchmarks); unset: browsers join only by a fleet-signed join link. Never the admin token.
   */
  join?: string;
  /** The TV's own (the kiosk page, answered to this box only), with its own share of the peer budget. */
  kiosk?: string;
}

/** The `Authorization: Bearer <token>` credential, or null. */
export function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : null;
}

/** Compared in constant time; a missing value matches nothing. */
export function sameToken(given: string | null, expected: string | null | undefined): boolean {
  if (given === null || expected === null || expected === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

const unauthorized = (detail: string): DiemcauError => new DiemcauError('APPL_ERR_MEDIA_UNAUTHORIZED', detail);

/** A route registered without a known access class is an error at start, never an open door. */
export function requireAccessClass(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined || !ACCESS_CLASSES.includes(access)) {
      throw new DiemcauError('APPL_ERR_CONFIG', `route ${String(route.method)} ${route.url} names no access class`);
    }
  });
}

/** Installs the access hook on the edge's root instance, before any route (hooks reach only later plugins). */
export function installAccess(app: FastifyInstance, edge: Edge, tokens: Tokens): void {
  if (sameToken(tokens.join ?? null, tokens.admin))
    throw new DiemcauError('APPL_ERR_CONFIG', 'the join token must differ from the admin token');
  app.decorateRequest('room', null);
  app.decorateRequest('link', null);
  app.decorateRequest('peerToken', null);
  app.decorateRequest('joinClaims', null);

  requireAccessClass(app);

  const roomOf = (req: FastifyRequest): MeetingRoom | null => {
    const id = (req.params as { meetingId?: string }).meetingId;
    if (id === undefined) return null;
    const room = edge.room(id);
    if (!room) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'meeting is not open on this edge');
    return room;
  };

  const peerTokenOf = (req: FastifyRequest): PeerToken => {
    const given = bearer(req);
    if (sameToken(given, tokens.join)) return 'join';
    if (sameToken(given, tokens.kiosk)) return 'kiosk';
    if (sameToken(given, tokens.admin)) return 'admin';
    // A join link shares the join budget: one link or many, browsers together stay within it.
    if (given !== null && given.includes('.')) {
      req.joinClaims = joinLinkOf(req, given);
      return req.joinClaims.role === 'monitor' ? 'monitor' : 'join';
    }
    throw unauthorized('a join link is required');
  };

  /**
   * A join link opens only its own meeting, open on this edge, when this is
   * the edge of its site. Each refusal is counted and says which rule.
   */
  const joinLinkOf = (req: FastifyRequest, link: string): JoinClaims => {
    const meetingId = (req.params as { meetingId?: string }).meetingId;
    const refuse = (code: 'APPL_ERR_MEDIA_UNAUTHORIZED' | 'APPL_ERR_MEDIA_FORBIDDEN', reason: string, detail: string) =>
      edge.refusals.refuse(code, reason, detail, { meetingId, source: req.socket.remoteAddress });
    const key = edge.currentPlan?.joinKey;
    if (key === undefined)
      throw refuse(
        'APPL_ERR_MEDIA_UNAUTHORIZED',
        'join-link-no-key',
        'this edge has no join-link key from the fleet yet',
      );
    const check = verifyJoinLink(link, key, Date.now());
    if (!check.ok) throw refuse('APPL_ERR_MEDIA_UNAUTHORIZED', check.reason, check.detail);
    const c = check.claims;
    if (c.meetingId !== meetingId)
      throw refuse(
        'APPL_ERR_MEDIA_FORBIDDEN',
        'join-link-other-meeting',
        `the join link is for meeting ${c.meetingId}`,
      );
    const room = edge.room(c.meetingId);
    if (!room) {
      const why = edge.hasEnded(c.meetingId) ? 'has ended' : 'is not open on this edge';
      throw refuse('APPL_ERR_MEDIA_FORBIDDEN', 'join-link-meeting-closed', `meeting ${c.meetingId} ${why}`);
    }
    if (room.meeting.localSiteId !== c.siteId) {
      throw refuse(
        'APPL_ERR_MEDIA_FORBIDDEN',
        'join-link-other-site',
        `the join link is for site ${c.siteId}; this edge serves ${room.meeting.localSiteId ?? 'no site'}`,
      );
    }
    // The fleet revoked it (its plan lists the ids): refused from the moment the plan arrives.
    if (room.meeting.revokedLinks?.includes(c.jti))
      throw refuse('APPL_ERR_MEDIA_UNAUTHORIZED', 'join-link-revoked', `the join link ${c.jti} was revoked`);
    return c;
  };

  // Link requests after the offer come from the address the offer was admitted from.
  const linkOf = (req: FastifyRequest, room: MeetingRoom): DownstreamLink | null => {
    const linkId = (req.params as { linkId?: string }).linkId;
    if (linkId === undefined) return null;
    const link = room.downstreamLink(linkId);
    if (!link) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such link');
    const source = req.socket.remoteAddress;
    if (!link.allows(source)) {
      throw edge.refusals.refuse(
        'APPL_ERR_MEDIA_FORBIDDEN',
        'link-source-not-named',
        `link ${link.id} is not used from ${source ?? 'an unknown address'}`,
        { meetingId: room.id, peer: link.peerEdgeId, source },
      );
    }
    return link;
  };

  // Named: the route-table test finds it on every route.
  app.addHook('onRequest', async function edgeAccess(req) {
    if (req.is404) return; // answered by the not-found handler: no route, nothing to open
    const access = req.routeOptions.config.access;
    switch (access) {
      case 'public':
        return;
      case 'local':
        if (!isLoopback(req.socket.remoteAddress)) throw unauthorized('the kiosk is only served to this box');
        return;
      case 'admin':
        if (!sameToken(bearer(req), tokens.admin)) throw unauthorized('admin token required');
        req.room = roomOf(req);
        return;
      case 'browser':
        req.peerToken = peerTokenOf(req);
        req.room = roomOf(req);
        return;
      case 'link': {
        const room = roomOf(req);
        if (!room) throw unauthorized('link routes belong to a meeting');
        // The link token is per meeting: only edges given it by the plan may link in.
        if (!sameToken(bearer(req), room.meeting.acceptToken)) throw unauthorized('bad link token for this meeting');
        req.room = room;
        req.link = linkOf(req, room);
        return;
      }
      default:
        throw unauthorized('route has no access rule');
    }
  });
}

/** The room the access hook found; routes under a meeting always have one. */
export function roomOf(req: FastifyRequest): MeetingRoom {
  if (!req.room) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'meeting is not open on this edge');
  return req.room;
}

export function linkOf(req: FastifyRequest): DownstreamLink {
  if (!req.link) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such link');
  return req.link;
}

export function peerTokenOf(req: FastifyRequest): PeerToken {
  if (!req.peerToken) throw unauthorized('join token required');
  return req.peerToken;
}
