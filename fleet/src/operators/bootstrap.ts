import type { Logger } from 'pino';
import type { OperatorsRepo } from '../db/operators-repo.js';
import { newSecret } from '../db/secrets.js';

/**
 * Makes sure someone can log in. DIEMCAU_ADMIN_TOKEN, when set, is always a
 * valid admin token (so a lost token can be replaced by restarting with a new
 * one). Otherwise the first start generates one and returns it so that main
 * prints it once; only its hash is kept.
 */
export async function ensureAdmin(
  repo: OperatorsRepo,
  adminToken: string | undefined,
  log: Logger,
): Promise<string | undefined> {
  if (adminToken !== undefined) {
    if (!(await repo.byToken(adminToken))) {
      await repo.create(
        {
          id: `op-admin-${Date.now().toString(36)}`,
          name: 'admin (DIEMCAU_ADMIN_TOKEN)',
          role: 'admin',
          districtId: null,
        },
        adminToken,
      );
      log.info('admin operator created from DIEMCAU_ADMIN_TOKEN');
    }
    return undefined;
  }
  if ((await repo.adminCount()) > 0) return undefined;
  const token = newSecret(32);
  await repo.create({ id: 'op-admin', name: 'admin', role: 'admin', districtId: null }, token);
  return token;
}
