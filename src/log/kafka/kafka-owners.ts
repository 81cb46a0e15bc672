/**
 * The owners topic: one compacted, single-partition topic where every fence writes `owner → epoch`
 * (transactionally, under the session it just claimed), with the transactional id of that session.
 * `forgetOwners` writes a tombstone. Each handle keeps a view of it, caught up (read-committed, to the
 * last stable offset) on every `currentEpoch`.
 */
import type { KafkaClient } from './kafka-client.js';
import { ensureCompactedTopic } from './kafka-compacted.js';
import type { OutgoingRecord } from './kafka-producer.js';
import { readToStable } from './kafka-reader.js';
import { decodeEpoch } from './kafka-transactions.js';

/** What the owners topic says of one owner. */
export interface OwnerRecord {
  epoch: number;
  /** The transactional id of the session fenced for `epoch`; absent in records of Slipway before 0.2. */
  transactionalId?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class OwnersView {
  readonly topic: string;
  readonly #client: KafkaClient;
  readonly #replicationFactor: number;
  readonly #records = new Map<string, OwnerRecord>();
  #position = 0n;
  #queue: Promise<void> = Promise.resolve();
  #exists = false;

  constructor(client: KafkaClient, topic: string, replicationFactor: number) {
    this.#client = client;
    this.topic = topic;
    this.#replicationFactor = replicationFactor;
  }

  /** Creates the owners topic when it is missing, and gives it the compaction settings (see kafka-compacted.ts). */
  async ensureTopic(): Promise<void> {
    if (this.#exists) return;
    await ensureCompactedTopic(this.#client, this.topic, 1, this.#replicationFactor);
    this.#exists = true;
  }

  /** The owner's epoch as last committed by a fence (0 when never fenced, or forgotten). */
  async epochOf(owner: string): Promise<number> {
    return (await this.recordOf(owner))?.epoch ?? 0;
  }

  /** The owner's record as last committed by a fence; undefined when never fenced, or forgotten. */
  async recordOf(owner: string): Promise<OwnerRecord | undefined> {
    await this.catchUp();
    return this.#records.get(owner);
  }

  /** Reads what was committed since the last catch-up. Catch-ups run one after another. */
  catchUp(): Promise<void> {
    const next = this.#queue.then(() => this.#catchUpOnce());
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #catchUpOnce(): Promise<void> {
    if (!this.#exists) {
      if ((await this.#client.topic(this.topic, true)) === undefined) return;
      this.#exists = true;
    }
    this.#position = await readToStable(this.#client, this.topic, 0, this.#position, (r) => {
      if (r.key === null) return;
      const owner = r.key.toString('utf8');
      if (r.value === null) {
        this.#records.delete(owner);
        return;
      }
      const parsed = JSON.parse(r.value.toString('utf8')) as { epoch?: unknown; transactionalId?: unknown };
      if (typeof parsed.epoch !== 'number') return;
      // Fences commit in epoch order; keeping the highest keeps the view right even if a record is replayed.
      const seen = this.#records.get(owner);
      if (seen !== undefined && seen.epoch > parsed.epoch) return;
      this.#records.set(owner, {
        epoch: parsed.epoch,
        ...(typeof parsed.transactionalId === 'string' ? { transactionalId: parsed.transactionalId } : {}),
      });
    });
  }

  /**
   * Waits until this view shows `epoch` for `owner`. A fence calls it so that, when it returns, every handle's
   * `currentEpoch` shows the new epoch (another owner's fence still open on the partition can delay that briefly).
   */
  async awaitEpoch(owner: string, epoch: number, timeoutMs: number): Promise<void> {
    await this.#await(async () => (await this.epochOf(owner)) >= epoch, timeoutMs);
  }

  /** Waits until this view no longer knows `owner` (after its tombstone). */
  async awaitForgotten(owner: string, timeoutMs: number): Promise<void> {
    await this.#await(async () => (await this.recordOf(owner)) === undefined, timeoutMs);
  }

  async #await(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      if ((await done()) || Date.now() > deadline) return;
      await sleep(delay);
    }
  }

  /** The record a fence writes. */
  record(owner: string, epoch: number, transactionalId: string): OutgoingRecord {
    const session = decodeEpoch(epoch);
    return this.#outgoing(
      owner,
      Buffer.from(
        JSON.stringify({
          epoch,
          transactionalId,
          producerId: String(session?.producerId),
          producerEpoch: session?.producerEpoch,
          fencedAt: new Date().toISOString(),
        }),
        'utf8',
      ),
    );
  }

  /** The tombstone `forgetOwners` writes: compaction removes the owner's records. */
  tombstone(owner: string): OutgoingRecord {
    return this.#outgoing(owner, null);
  }

  #outgoing(owner: string, value: Buffer | null): OutgoingRecord {
    return {
      topic: this.topic,
      partition: 0,
      key: Buffer.from(owner, 'utf8'),
      value,
      headers: new Map(),
      timestamp: BigInt(Date.now()),
    };
  }
}
