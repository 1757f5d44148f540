import t from 'tap';
import { MemoryQueue } from '../../src/queue/index.js';
import { queueContract } from './queue-suite.js';

queueContract(t, async (maxRecords) => new MemoryQueue({ maxRecords }));
