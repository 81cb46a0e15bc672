/**
 * Owners on Kafka: each owner is a transactional id, and its Slipway epoch names one producer session of that id
 * (see kafka-transactions.ts). This holds the sessions a handle fenced or took over, and fences, adopts and
 * forgets owners.
 *
 * Transactional ids. Owner X commits as `<prefix>-X`, or as X itself when X already starts with `<prefix>.` —
 * runners' owners are `slipway.<pipeline>`, which made `slipway-slipway.<pipeline>` before. The two forms never
 * collide (one starts with `<prefix>.`, the other with `<prefix>-`), so two owners never share an id. A prefix
 * given with a trailing `-` (`slipway-`, the old default) is the same prefix.
 *
 * Upgrades. Kafka fences per transactional id, and a handle trusts the session it holds, so a fence under a new id
 * does not stop a process still holding a session of the old one. Every owners record therefore names its
 * transactional id (records of an older Slipway name none: theirs was `<old prefix>X`), and a fence, or a forget,
 * first fences the id the owner's last record names when it is not the current one.
 */
import { SlipwayError } from '../../errors.js';
import type { KafkaClient } from './kafka-client.js';
import { transactionalIdOf } from './kafka-names.js';
import type { OwnersView } from './kafka-owners.js';
import { describeSession, fencedError, TransactionalProducer } from './kafka-transactions.js';

export interface OwnerSessionsOptions {
  /** The `transactionalIdPrefix` option as given (undefined: the default). */
  prefix: string | undefined;
  transactionTimeoutMs: number;
}

export class OwnerSessions {
  readonly #client: KafkaClient;
  readonly #owners: OwnersView;
  readonly #prefix: string;
  /** What an older Slipway used: `<prefix as given>X`, default `slipway-X`. */
  readonly #legacyPrefix: string;
  readonly #timeoutMs: number;
  readonly #held = new Map<string, TransactionalProducer>();

  constructor(client: KafkaClient, owners: OwnersView, options: OwnerSessionsOptions) {
    this.#client = client;
    this.#owners = owners;
    this.#prefix = options.prefix ?? 'slipway';
    this.#legacyPrefix = options.prefix ?? 'slipway-';
    this.#timeoutMs = options.transactionTimeoutMs;
  }

  /** The transactional id owner `owner` commits as. */
  idOf(owner: string): string {
    return transactionalIdOf(this.#prefix, owner);
  }

  #options(owner: string, transactionalId: string) {
    return { owner, transactionalId, transactionTimeoutMs: this.#timeoutMs };
  }

  /** The id the owner's last record names (an older Slipway's record names none: its legacy id). */
  #namedBy(owner: string, record: { transactionalId?: string }): string {
    return record.transactionalId ?? this.#legacyPrefix + owner;
  }

  /** Fences every session of a transactional id, when Kafka knows it (an expired id has no session to fence). */
  async #fenceId(owner: string, transactionalId: string): Promise<void> {
    if ((await describeSession(this.#client, transactionalId)) === undefined) return;
    await TransactionalProducer.fence(this.#client, this.#options(owner, transactionalId));
  }

  /** `Log.fence`: claims the owner's id (fencing an older id first, see above) and records the new epoch. */
  async fence(owner: string): Promise<number> {
    await this.#owners.ensureTopic();
    const id = this.idOf(owner);
    const prior = await this.#owners.recordOf(owner);
    if (prior !== undefined && this.#namedBy(owner, prior) !== id) {
      await this.#fenceId(owner, this.#namedBy(owner, prior));
    }
    // A new id gets a new producer id, and Kafka hands producer ids out in increasing order: the epoch still grows.
    const producer = await TransactionalProducer.fence(this.#client, this.#options(owner, id));
    try {
      await producer.run(async (tx) => {
        await tx.addPartitions([{ topic: this.#owners.topic, partition: 0 }]);
        await tx.produce([this.#owners.record(owner, producer.epoch, id)]);
      });
    } catch (err) {
      if ((err as SlipwayError).code !== 'SLIPWAY_FENCED') throw err;
      throw new SlipwayError(
        'SLIPWAY_FENCED',
        `fence('${owner}') lost to another fence of the same owner that ran at the same moment. Only one instance should claim an owner; call fence again to claim it.`,
        { cause: err, details: { owner } },
      );
    }
    this.#held.set(owner, producer);
    await this.#owners.awaitEpoch(owner, producer.epoch, this.#client.requestTimeoutMs);
    return producer.epoch;
  }

  /** `Log.currentEpoch`. */
  epochOf(owner: string): Promise<number> {
    return this.#owners.epochOf(owner);
  }

  /** The session to commit `epoch` with: the one this handle holds, or the one fenced elsewhere, taken over. */
  async producerFor(owner: string, epoch: number): Promise<TransactionalProducer> {
    const held = this.#held.get(owner);
    if (held !== undefined && !held.fenced) {
      if (held.epoch === epoch) return held;
      if (epoch < held.epoch) throw fencedError(owner, epoch, undefined, `epoch ${held.epoch} is newer`);
    }
    const record = await this.#owners.recordOf(owner);
    const current = record?.epoch ?? 0;
    if (record === undefined || current !== epoch) {
      throw fencedError(owner, epoch, undefined, `the current epoch is ${current}`);
    }
    const adopted = await TransactionalProducer.adopt(
      this.#client,
      this.#options(owner, this.#namedBy(owner, record)),
      epoch,
    );
    this.#held.set(owner, adopted);
    return adopted;
  }

  /** Drops a session that Kafka fenced, unless the handle holds another one by now. */
  release(owner: string, producer: TransactionalProducer): void {
    if (this.#held.get(owner) === producer) this.#held.delete(owner);
  }

  /**
   * `Log.forgetOwners` on Kafka: fences every session of the owner (so no process holding an epoch of it commits
   * again) and writes a tombstone to the owners topic in the transaction of the fencing session; compaction then
   * removes the owner's records. Kafka has no request that deletes a transactional id: it expires after
   * `transactional.id.expiration.ms` (7 days by default) without use. A later fence gives a greater epoch (the
   * id's producer epoch grows; an expired id gets a new, greater producer id).
   */
  async forget(owner: string): Promise<void> {
    const record = await this.#owners.recordOf(owner);
    if (record === undefined) return;
    const named = this.#namedBy(owner, record);
    for (const id of new Set([this.idOf(owner), this.#legacyPrefix + owner])) {
      if (id !== named) await this.#fenceId(owner, id);
    }
    const producer = await TransactionalProducer.fence(this.#client, this.#options(owner, named));
    await producer.run(async (tx) => {
      await tx.addPartitions([{ topic: this.#owners.topic, partition: 0 }]);
      await tx.produce([this.#owners.tombstone(owner)]);
    });
    this.#held.delete(owner);
    await this.#owners.awaitForgotten(owner, this.#client.requestTimeoutMs);
  }
}
