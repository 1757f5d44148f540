import { onPostgres } from '../../helpers/on-postgres.js';

// A slice of the fleet's own API tests, unchanged, on PostgreSQL (with the other files of
// fleet/test/db/on-postgres/): enrolment (tokens, serials, retries), operators and auth, the
// commands' lifecycle, presence and its alerts, health and the meeting escalation. The files
// left out speak SQLite to the registry directly (triggers, the file itself). The slice is split
// in three so that each file stays well inside the per-file time limit on a loaded machine.
await onPostgres(async () => {
  await import('../../presence/alerts.test.js');
  await import('../../health/api.test.js');
  await import('../../alerts/meeting-escalation-fleet.test.js');
});
