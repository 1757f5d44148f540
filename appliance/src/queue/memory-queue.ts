import type { DurableQueue, QueueHead, QueueOptions, QueueRecord, QueueStats } from './types.js';
import { Events } from '@diemcau/shared';

/**
 * The same contract without the disk: for tests of code above the queue, and
 * the reference the disk queue's shared suite is checked against. Loses
 * everything on restart by design.
 */
export class MemoryQueue implements DurableQueue {
  private readonly records: QueueRecord[] = [];
  private nextIndex = 0;
  private pendingDropped = 0;
  private droppedTotal = 0;
  private appendedTotal = 0;
  private ackedTotal = 0;
  private closed = false;
  /** A listener's bug must not lose a record that is already stored: its error is dropped. */
  private readonly listeners = new Events<{ append: [] }>();

  constructor(private readonly opts: QueueOptions) {}

  async append(channel: string, payload: string): Promise<void> {
    if (this.closed) throw new Error('queue is closed');
    this.records.push({ index: this.nextIndex++, channel, payload });
    this.appendedTotal++;
    const over = this.records.length - this.opts.maxRecords;
    if (over > 0) {
      this.records.splice(0, over);
      this.pendingDropped += over;
      this.droppedTotal += over;
    }
    this.listeners.emit('append');
  }

  peek(): QueueHead | undefined {
    const head = this.records[0];
    return head ? { ...head, droppedBefore: this.pendingDropped } : undefined;
  }

  async ack(index: number): Promise<boolean> {
    if (this.records[0]?.index !== index) return false;
    this.records.shift();
    this.pendingDropped = 0;
    this.ackedTotal++;
    return true;
  }

  stats(): QueueStats {
    return {
      size: this.records.length,
      pendingDropped: this.pendingDropped,
      droppedTotal: this.droppedTotal,
      appendedTotal: this.appendedTotal,
      ackedTotal: this.ackedTotal,
    };
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.on('append', listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.removeAll();
  }
}
