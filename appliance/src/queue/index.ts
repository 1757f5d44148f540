export type { DurableQueue, QueueHead, QueueOptions, QueueRecord, QueueStats } from './types.js';
export { DiskQueue, type DiskQueueOptions } from './disk-queue.js';
export { MemoryQueue } from './memory-queue.js';
