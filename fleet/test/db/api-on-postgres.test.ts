import t from 'tap';
import { startPostgres } from '../helpers/postgres.js';
import { useRegistry } from '../helpers/registry.js';

// A slice of the fleet's own API tests, unchanged, on PostgreSQL: every
// fleet they start gets a fresh database on one server started for this
// file. Chosen to cover enrolment (tokens, serials, retries), operators and
// auth, the commands' lifecycle, presence and its alerts, health and the
// meeting escalation; the files left out speak SQLite to the registry
// directly (triggers, the file itself).
const server = await startPostgres(t);
useRegistry(() => server.createDatabase());

await import('../api/enrol-connect.test.js');
await import('../api/enrol-retry.test.js');
await import('../api/auth.test.js');
await import('../api/preregistration-expiry.test.js');
await import('../provisioning/tokens.test.js');
await import('../provisioning/routes.test.js');
await import('../provisioning/identity.test.js');
await import('../commands/api.test.js');
await import('../presence/alerts.test.js');
await import('../health/api.test.js');
await import('../alerts/meeting-escalation-fleet.test.js');
