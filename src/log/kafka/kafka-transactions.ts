/**
 * A Kafka transactional producer session for one owner: claiming it (InitProducerId), running one
 * transaction at a time (AddPartitionsToTxn, Produce, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) and
 * waiting until the transaction's markers are written, so what it wrote is visible when `run` resolves.
 *
 * Slipway epochs are derived from Kafka's session: `epoch = producerId * 32768 + producerEpoch + 1`.
 * Every InitProducerId without an expected session gives a strictly greater (producerId, producerEpoch)
 * pair, so epochs grow on every fence, and an epoch names exactly the Kafka session it was claimed with.
 */
import { SlipwayError } from '../../errors.js';
import { CoordinatorType, getOrSet, type KafkaClient } from './kafka-client.js';
import { FENCING_ERRORS, hasKafkaError, isKafkaClientError, kafkaErrorIds, toSlipwayError } from './kafka-errors.js';
import { offsetsByTopic } from './kafka-groups.js';
import { newSession, type OutgoingRecord, type ProducerSession, produce } from './kafka-producer.js';

const EPOCHS_PER_PRODUCER_ID = 32768;

/** The Slipway epoch of a Kafka producer session. */
export function encodeEpoch(producerId: bigint, producerEpoch: number): number {
  const epoch = Number(producerId) * EPOCHS_PER_PRODUCER_ID + producerEpoch + 1;
  if (producerId < 0n || !Number.isSafeInteger(epoch)) {
    throw new SlipwayError(
      'SLIPWAY_KAFKA_REJECTED',
      `Kafka gave producer id ${producerId}, too large to become a Slipway epoch. Report this to the Slipway maintainers.`,
      { details: { producerId: String(producerId), producerEpoch } },
    );
  }
  return epoch;
}

/** The Kafka producer session an epoch was claimed with, or undefined for numbers no fence can return. */
export function decodeEpoch(epoch: number): { producerId: bigint; producerEpoch: number } | undefined {
  if (!Number.isSafeInteger(epoch) || epoch < 1) return undefined;
  const producerEpoch = (epoch - 1) % EPOCHS_PER_PRODUCER_ID;
  return { producerId: BigInt((epoch - 1 - producerEpoch) / EPOCHS_PER_PRODUCER_ID), producerEpoch };
}

export interface TransactionalProducerOptions {
  owner: string;
  transactionalId: string;
  transactionTimeoutMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class TransactionalProducer {
  readonly owner: string;
  readonly transactionalId: string;
  /** The Slipway epoch this session was claimed under; kept when the session is renewed after a failed transaction. */
  readonly epoch: number;
  readonly #client: KafkaClient;
  readonly #timeoutMs: number;
  #session: ProducerSession;
  #fenced = false;
  #needsRenewal = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    client: KafkaClient,
    options: TransactionalProducerOptions,
    session: ProducerSession,
    epoch: number,
  ) {
    this.#client = client;
    this.owner = options.owner;
    this.transactionalId = options.transactionalId;
    this.#timeoutMs = options.transactionTimeoutMs;
    this.#session = session;
    this.epoch = epoch;
  }

  /** Claims the transactional id: fences every older session (aborting its open transaction). */
  static async fence(client: KafkaClient, options: TransactionalProducerOptions): Promise<TransactionalProducer> {
    const session = await initProducerId(client, options, -1n, -1);
    return new TransactionalProducer(client, options, session, encodeEpoch(session.producerId, session.producerEpoch));
  }

  /**
   * Takes over the session an epoch was fenced with on another handle (a controller fences, a runner commits).
   * Works only while nobody else has claimed or taken over the transactional id since that fence.
   */
  static async adopt(
    client: KafkaClient,
    options: TransactionalProducerOptions,
    epoch: number,
  ): Promise<TransactionalProducer> {
    const expected = decodeEpoch(epoch);
    const current = await describeSession(client, options.transactionalId);
    if (
      expected === undefined ||
      current === undefined ||
      current.producerId !== expected.producerId ||
      current.producerEpoch !== expected.producerEpoch
    ) {
      throw fencedError(options.owner, epoch, undefined, 'its Kafka producer session was fenced or taken over since');
    }
    try {
      const session = await initProducerId(client, options, expected.producerId, expected.producerEpoch);
      return new TransactionalProducer(client, options, session, epoch);
    } catch (err) {
      if (hasKafkaError(err, FENCING_ERRORS)) {
        throw fencedError(options.owner, epoch, err, 'its Kafka producer session was fenced since');
      }
      throw err;
    }
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  /**
   * Runs one transaction: `body` adds partitions, produces and commits offsets; then it is committed and
   * this resolves once its markers are written. On any failure the transaction is aborted and nothing of it
   * becomes visible. Transactions of one producer run one after another.
   */
  run<T>(body: (tx: TransactionalProducer) => Promise<T>): Promise<T> {
    const step = async (): Promise<T> => {
      if (this.#fenced) throw fencedError(this.owner, this.epoch);
      await this.#guard(async () => {
        if (this.#needsRenewal) {
          // After a failed transaction the broker's sequence numbers may differ from ours: bump the epoch
          // of our own session (InitProducerId with the current id and epoch fences nobody newer). Kafka
          // treats the previous epoch as a retry, so first make sure nobody took the session over meanwhile.
          const current = await describeSession(this.#client, this.transactionalId);
          if (
            current?.producerId !== this.#session.producerId ||
            current.producerEpoch !== this.#session.producerEpoch
          ) {
            this.#fenced = true;
            throw fencedError(this.owner, this.epoch, undefined, 'its Kafka producer session was taken over');
          }
          this.#session = await initProducerId(
            this.#client,
            { owner: this.owner, transactionalId: this.transactionalId, transactionTimeoutMs: this.#timeoutMs },
            this.#session.producerId,
            this.#session.producerEpoch,
          );
          this.#needsRenewal = false;
        }
      });
      let result: T;
      try {
        result = await body(this);
        await this.#endTxn(true);
      } catch (err) {
        if (!this.#fenced) {
          this.#needsRenewal = true;
          await this.#endTxn(false).catch(() => undefined);
        }
        throw err;
      }
      await this.#awaitCompletion();
      return result;
    };
    const next = this.#queue.then(step, step);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Adds partitions to the open transaction (must happen before producing to them). */
  async addPartitions(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<void> {
    if (partitions.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) {
      const list = getOrSet(byTopic, tp.topic, () => []);
      if (!list.includes(tp.partition)) list.push(tp.partition);
    }
    const apis = await this.#client.apis();
    await this.#guard(() =>
      this.#client.retry('adding partitions to a transaction', async () =>
        apis.addPartitionsToTxn.async(await this.#coordinatorConnection(), [
          {
            transactionalId: this.transactionalId,
            producerId: this.#session.producerId,
            producerEpoch: this.#session.producerEpoch,
            verifyOnly: false,
            topics: [...byTopic].map(([name, parts]) => ({ name, partitions: parts })),
          },
        ]),
      ),
    );
  }

  /** Produces records inside the open transaction; returns their offsets, in order. */
  produce(records: ReadonlyArray<OutgoingRecord>): Promise<number[]> {
    return this.#guard(() => produce(this.#client, this.#session, records));
  }

  /** Commits consumer-group offsets inside the open transaction (visible when it commits). */
  async commitOffsets(group: string, offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>) {
    const apis = await this.#client.apis();
    await this.#guard(async () => {
      await this.#client.retry('adding offsets to a transaction', async () =>
        apis.addOffsetsToTxn.async(
          await this.#coordinatorConnection(),
          this.transactionalId,
          this.#session.producerId,
          this.#session.producerEpoch,
          group,
        ),
      );
      await this.#client.retry('committing offsets in a transaction', async () => {
        const node = await this.#client.coordinator(CoordinatorType.GROUP, group);
        // Generation -1 and no member id: the group has no members; Slipway owners commit for it.
        return apis.txnOffsetCommit.async(
          await this.#client.connection(node),
          this.transactionalId,
          group,
          this.#session.producerId,
          this.#session.producerEpoch,
          -1,
          '',
          null,
          offsetsByTopic(offsets),
        );
      });
    });
  }

  async #endTxn(commit: boolean): Promise<void> {
    const apis = await this.#client.apis();
    await this.#guard(() =>
      this.#client.retry(commit ? 'committing a transaction' : 'aborting a transaction', async () =>
        apis.endTxn.async(
          await this.#coordinatorConnection(),
          this.transactionalId,
          this.#session.producerId,
          this.#session.producerEpoch,
          commit,
        ),
      ),
    );
  }

  /**
   * EndTxn answers once the outcome is decided; the markers that make the records and offsets visible are
   * written right after. Waits (briefly, polling DescribeTransactions) until they are.
   */
  async #awaitCompletion(): Promise<void> {
    const deadline = Date.now() + this.#client.requestTimeoutMs;
    for (let polls = 0; Date.now() < deadline; polls++) {
      const state = await describeSession(this.#client, this.transactionalId).catch(() => undefined);
      if (
        state === undefined ||
        state.producerId !== this.#session.producerId ||
        state.producerEpoch !== this.#session.producerEpoch ||
        (state.state !== 'PrepareCommit' && state.state !== 'PrepareAbort')
      ) {
        return;
      }
      // Markers usually land within a few ms: poll tightly at first, then back off.
      await sleep(polls < 20 ? 1 : 20);
    }
    // The commit is decided; only its visibility is late. Never report a decided commit as failed.
  }

  async #coordinatorConnection() {
    return this.#client.connection(await this.#client.coordinator(CoordinatorType.TRANSACTION, this.transactionalId));
  }

  /** Maps fencing errors to SLIPWAY_FENCED (and remembers), everything else to a SlipwayError. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (hasKafkaError(err, FENCING_ERRORS)) {
        this.#fenced = true;
        throw fencedError(this.owner, this.epoch, err);
      }
      throw isKafkaClientError(err)
        ? toSlipwayError(err, `a transaction of owner '${this.owner}'`, this.#client.brokers)
        : err;
    }
  }
}

async function initProducerId(
  client: KafkaClient,
  options: TransactionalProducerOptions,
  producerId: bigint,
  producerEpoch: number,
): Promise<ProducerSession> {
  const apis = await client.apis();
  const txnId = options.transactionalId;
  const response = await client.retry(`claiming owner '${options.owner}'`, async () =>
    apis.initProducerId.async(
      await client.connection(await client.coordinator(CoordinatorType.TRANSACTION, txnId)),
      txnId,
      options.transactionTimeoutMs,
      producerId,
      producerEpoch,
    ),
  );
  return newSession(response.producerId, response.producerEpoch, txnId);
}

/** The transactional id's current session and transaction state, or undefined when Kafka does not know it. */
export async function describeSession(
  client: KafkaClient,
  transactionalId: string,
): Promise<{ producerId: bigint; producerEpoch: number; state: string } | undefined> {
  const apis = await client.apis();
  try {
    const response = await client.retry('describing a transaction', async () =>
      apis.describeTransactions.async(
        await client.connection(await client.coordinator(CoordinatorType.TRANSACTION, transactionalId)),
        [transactionalId],
      ),
    );
    const s = response.transactionStates[0];
    if (s === undefined) return undefined;
    return { producerId: s.producerId, producerEpoch: s.producerEpoch, state: s.transactionState };
  } catch (err) {
    if (kafkaErrorIds(err).includes('TRANSACTIONAL_ID_NOT_FOUND')) return undefined;
    throw err;
  }
}

export function fencedError(owner: string, epoch: number, cause?: unknown, why?: string): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_FENCED',
    `Commit refused: owner '${owner}' at epoch ${epoch} has been fenced${why === undefined ? '' : ` (${why})`}. ` +
      'Another instance has taken over; this one must stop writing.',
    { cause, details: { owner, epoch } },
  );
}
