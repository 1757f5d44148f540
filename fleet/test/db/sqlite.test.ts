import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SqliteDb } from '../../src/db/sqlite.js';
import { registryContract } from './registry-suite.js';

// The registry contract on the embedded engine: a fresh file per test.
const dir = mkdtempSync(join(tmpdir(), 'diemcau-sqlite-suite-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
registryContract(t, () => SqliteDb.open(join(dir, `registry-${++n}.sqlite`), pino({ level: 'silent' })));
