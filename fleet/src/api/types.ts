import type { FleetContext } from '../context.js';
import type { OperatorRole } from '../access.js';
import type { Operator } from '../db/operators-repo.js';

declare module 'fastify' {
  interface FastifyInstance {
    fleet: FleetContext;
  }
  interface FastifyRequest {
    /** The authenticated operator; null on public routes. */
    operator: Operator | null;
    /** Extra details for this request's audit entry (set by handlers). */
    auditDetails: Record<string, unknown> | undefined;
    /** Target for this request's audit entry, e.g. `device:dev-1` (default: route params). */
    auditTarget: string | undefined;
  }
  interface FastifyContextConfig {
    /** No operator token needed (device enrolment, health). */
    public?: boolean;
    /** Only these roles may call the route (default: any role; viewers only read). */
    roles?: OperatorRole[];
  }
}

export {};
