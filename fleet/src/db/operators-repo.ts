import type { FleetDb } from './database.js';
import { tokenHash } from './secrets.js';
import { canonicalRole, type OperatorArea, type OperatorRole } from '../access.js';

export { OPERATOR_ROLES, type OperatorRole } from '../access.js';

export interface Operator {
  id: string;
  name: string;
  role: OperatorRole;
  /** Set for area operators: the subtree or relay group they may see and act on. */
  area: OperatorArea | null;
  /** The subtree's root when the area is a subtree; kept for clients of the district operator. */
  districtId: string | null;
  createdAt: string;
}

interface OperatorRow {
  id: string;
  name: string;
  role: string;
  district_id: string | null;
  area_group: string | null;
  created_at: string;
}

/**
 * A role name this fleet does not know (a row from a newer version, a typo
 * in a hand-edited database) reads as an area operator without an area:
 * it authenticates, and the access rule gives it nothing.
 */
const toOperator = (r: OperatorRow): Operator => {
  const role = canonicalRole(r.role);
  const area: OperatorArea | null =
    role !== 'area-operator'
      ? null
      : r.area_group !== null
        ? { kind: 'relay-group', groupId: r.area_group }
        : r.district_id !== null
          ? { kind: 'subtree', siteId: r.district_id }
          : null;
  return {
    id: r.id,
    name: r.name,
    role: role ?? 'area-operator',
    area,
    districtId: area?.kind === 'subtree' ? area.siteId : null,
    createdAt: r.created_at,
  };
};

const COLUMNS = 'id, name, role, district_id, area_group, created_at';

export class OperatorsRepo {
  constructor(private readonly db: FleetDb) {}

  /** `districtId` is the older spelling of a subtree area; `area` wins when both are given. */
  async create(
    op: { id: string; name: string; role: OperatorRole; districtId?: string | null; area?: OperatorArea | null },
    token: string,
  ): Promise<Operator> {
    const createdAt = new Date().toISOString();
    const area: OperatorArea | null = op.area ?? (op.districtId ? { kind: 'subtree', siteId: op.districtId } : null);
    const siteRoot = area?.kind === 'subtree' ? area.siteId : null;
    const group = area?.kind === 'relay-group' ? area.groupId : null;
    await this.db.run(
      `INSERT INTO operators (id, name, role, district_id, area_group, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [op.id, op.name, op.role, siteRoot, group, tokenHash(token), createdAt],
    );
    return { id: op.id, name: op.name, role: op.role, area, districtId: siteRoot, createdAt };
  }

  async byToken(token: string): Promise<Operator | undefined> {
    const r = await this.db.get<OperatorRow>(
      `SELECT ${COLUMNS} FROM operators WHERE token_hash = ? AND revoked_at IS NULL`,
      [tokenHash(token)],
    );
    return r ? toOperator(r) : undefined;
  }

  async list(): Promise<Operator[]> {
    return (
      await this.db.all<OperatorRow>(`SELECT ${COLUMNS} FROM operators WHERE revoked_at IS NULL ORDER BY created_at`)
    ).map(toOperator);
  }

  async adminCount(): Promise<number> {
    return (await this.db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM operators WHERE role = 'admin' AND revoked_at IS NULL`,
    ))!.n;
  }

  async revoke(id: string): Promise<boolean> {
    return (
      (
        await this.db.run('UPDATE operators SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
          new Date().toISOString(),
          id,
        ])
      ).changes === 1
    );
  }
}
