import { onPostgres } from '../../helpers/on-postgres.js';

// The meetings' stored links and requests to speak, unchanged, on PostgreSQL: join links
// listed and revoked (their migration, the revoked ids in the plans, a restart that forgets
// none) and browser participants' requests to speak taken, granted and set aside.
await onPostgres(async () => {
  await import('../../meetings/join-link-revoke.test.js');
  await import('../../meetings/join-links.test.js');
});
