// Kill -9 of the leader of two fleet nodes on Redis and one PostgreSQL (failover-scenario.ts):
// the registry elects the leader there (cluster/store-lease.ts).
import t from 'tap';
import { failover } from './failover-scenario.js';

t.test('kill -9 of the leader on PostgreSQL: every box back on the other node, nothing lost, one alert', (t) =>
  failover(t, 'postgres'),
);
