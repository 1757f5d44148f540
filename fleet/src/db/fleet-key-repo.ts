import { keyIdOf, newFleetKeyPair, type FleetTrust } from '@diemcau/shared';
import type { FleetDb } from './database.js';

/** The fleet's own signing key: its public half goes to every box at enrolment. */
export interface FleetKey extends FleetTrust {
  privateKey: string;
}

interface Row {
  fleet_id: string;
  public_key: string;
  private_key: string;
}

/**
 * One row, made the first time any node asks: `INSERT ... ON CONFLICT DO
 * NOTHING` then a read, so that two nodes of a cluster starting together
 * agree on the key the first of them wrote. The key stays with the registry
 * (a backup holds it, a move to PostgreSQL carries it, a merge never takes
 * another fleet's), and so the boxes' trust stays valid as long as the
 * registry does.
 */
export class FleetKeyRepo {
  constructor(private readonly db: FleetDb) {}

  async get(): Promise<FleetKey> {
    const existing = await this.read();
    if (existing) return existing;
    const pair = newFleetKeyPair();
    await this.db.run(
      `INSERT INTO fleet_key (id, fleet_id, public_key, private_key, created_at) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
      [`fleet-${keyIdOf(pair.publicKey)}`, pair.publicKey, pair.privateKey, new Date().toISOString()],
    );
    return (await this.read())!;
  }

  private async read(): Promise<FleetKey | undefined> {
    const r = await this.db.get<Row>('SELECT fleet_id, public_key, private_key FROM fleet_key WHERE id = 1');
    return r ? { fleetId: r.fleet_id, publicKey: r.public_key, privateKey: r.private_key } : undefined;
  }
}
