import t from 'tap';
import pino from 'pino';
import { PostgresDb } from '../../src/db/postgres.js';
import { startPostgres } from '../helpers/postgres.js';
import { registryContract } from './registry-suite.js';

// The registry contract on PostgreSQL (Debian's server, started for this
// file on a free port): a fresh database per test.
const server = await startPostgres(t);
registryContract(t, async () =>
  PostgresDb.open({ url: await server.createDatabase(), poolSize: 8 }, pino({ level: 'silent' })),
);
