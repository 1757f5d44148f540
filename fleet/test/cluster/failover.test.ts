// Kill -9 of the leader of two fleet nodes on Redis and a shared SQLite file (failover-scenario.ts).
import t from 'tap';
import { failover } from './failover-scenario.js';

t.test('kill -9 of the leader on SQLite: every box back on the other node, nothing lost, one alert', (t) =>
  failover(t, 'sqlite'),
);
