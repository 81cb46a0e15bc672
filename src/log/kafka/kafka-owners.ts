/**
 * The owners topic: one compacted, single-partition topic where every fence writes `owner → epoch`
 * (transactionally, under the session it just claimed). Each handle keeps a view of it, caught up
 * (read-committed, to the last stable offset) on every `currentEpoch`.
 */
import type { KafkaClient } from './kafka-client.js';
import { ensureCompactedTopic } from './kafka-compacted.js';
import type { OutgoingRecord } from './kafka-producer.js';
import { readToStable } from './kafka-reader.js';
import { decodeEpoch } from './kafka-transactions.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class OwnersView {
  readonly topic: string;
  readonly #client: KafkaClient;
  readonly #replicationFactor: number;
  readonly #epochs = new Map<string, number>();
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

  /** The owner's epoch as last committed by a fence (0 when never fenced). */
  async epochOf(owner: string): Promise<number> {
    await this.catchUp();
    return this.#epochs.get(owner) ?? 0;
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
      if (r.key === null || r.value === null) return;
      const owner = r.key.toString('utf8');
      const epoch = (JSON.parse(r.value.toString('utf8')) as { epoch?: unknown }).epoch;
      // Fences commit in epoch order; max() keeps the view right even if a record is replayed.
      if (typeof epoch === 'number') this.#epochs.set(owner, Math.max(this.#epochs.get(owner) ?? 0, epoch));
    });
  }

  /**
   * Waits until this view shows `epoch` for `owner`. A fence calls it so that, when it returns, every handle's
   * `currentEpoch` shows the new epoch (another owner's fence still open on the partition can delay that briefly).
   */
  async awaitEpoch(owner: string, epoch: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      if ((await this.epochOf(owner)) >= epoch || Date.now() > deadline) return;
      await sleep(delay);
    }
  }

  /** The record a fence writes. */
  record(owner: string, epoch: number): OutgoingRecord {
    const session = decodeEpoch(epoch);
    return {
      topic: this.topic,
      partition: 0,
      key: Buffer.from(owner, 'utf8'),
      value: Buffer.from(
        JSON.stringify({
          epoch,
          producerId: String(session?.producerId),
          producerEpoch: session?.producerEpoch,
          fencedAt: new Date().toISOString(),
        }),
        'utf8',
      ),
      headers: new Map(),
      timestamp: BigInt(Date.now()),
    };
  }
}
