import type { FleetDb } from './database.js';
import { tokenHash } from './secrets.js';

export const OPERATOR_ROLES = ['admin', 'district-operator', 'viewer'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export interface Operator {
  id: string;
  name: string;
  role: OperatorRole;
  /** Set for district operators: the district whose subtree they may see and act on. */
  districtId: string | null;
  createdAt: string;
}

interface OperatorRow {
  id: string;
  name: string;
  role: string;
  district_id: string | null;
  created_at: string;
}

const toOperator = (r: OperatorRow): Operator => ({
  id: r.id,
  name: r.name,
  role: r.role as OperatorRole,
  districtId: r.district_id,
  createdAt: r.created_at,
});

export class OperatorsRepo {
  private readonly stmts;

  constructor(db: FleetDb) {
    const s = db.sql;
    this.stmts = {
      insert: s.prepare(`INSERT INTO operators (id, name, role, district_id, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
      byToken: s.prepare('SELECT id, name, role, district_id, created_at FROM operators WHERE token_hash = ? AND revoked_at IS NULL'),
      list: s.prepare('SELECT id, name, role, district_id, created_at FROM operators WHERE revoked_at IS NULL ORDER BY created_at'),
      countAdmins: s.prepare(`SELECT COUNT(*) AS n FROM operators WHERE role = 'admin' AND revoked_at IS NULL`),
      revoke: s.prepare('UPDATE operators SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    };
  }

  create(op: { id: string; name: string; role: OperatorRole; districtId: string | null }, token: string): Operator {
    const createdAt = new Date().toISOString();
    this.stmts.insert.run(op.id, op.name, op.role, op.districtId, tokenHash(token), createdAt);
    return { ...op, createdAt };
  }

  byToken(token: string): Operator | undefined {
    const r = this.stmts.byToken.get(tokenHash(token)) as OperatorRow | undefined;
    return r ? toOperator(r) : undefined;
  }

  list(): Operator[] {
    return (this.stmts.list.all() as OperatorRow[]).map(toOperator);
  }

  adminCount(): number {
    return (this.stmts.countAdmins.get() as { n: number }).n;
  }

  revoke(id: string): boolean {
    return this.stmts.revoke.run(new Date().toISOString(), id).changes === 1;
  }
}
