// A FIFO of messages waiting for the broker's acknowledgement. Bounded: when
// full, the oldest records go and are counted; the count travels with the next
// delivered record so the fleet knows exactly how much is missing.

export interface QueueRecord {
  /** Position in the queue's whole history; grows by one per append, never reused while records remain. */
  index: number;
  channel: string;
  payload: string;
}

export interface QueueHead extends QueueRecord {
  /** Records dropped (overflow) since the last acknowledged one. */
  droppedBefore: number;
}

export interface QueueStats {
  size: number;
  /** Dropped since the last ack (reset when a record is acknowledged). */
  pendingDropped: number;
  /** Dropped since this handle was opened. */
  droppedTotal: number;
  appendedTotal: number;
  ackedTotal: number;
}

export interface DurableQueue {
  /** Resolves once the record is stored (as durably as the implementation promises). */
  append(channel: string, payload: string): Promise<void>;
  /** The oldest record not yet acknowledged, or undefined when empty. */
  peek(): QueueHead | undefined;
  /**
   * Removes the head if its index is `index`; a stale ack (the record was
   * dropped meanwhile, or acked twice) is ignored. Returns whether it removed.
   */
  ack(index: number): Promise<boolean>;
  stats(): QueueStats;
  /** Called after each append, so a publisher waiting on an empty queue wakes up. */
  onAppend(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface QueueOptions {
  maxRecords: number;
}
