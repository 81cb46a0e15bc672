/**
 * Producing record batches under a producer session (idempotent, optionally transactional), with the
 * per-partition sequence numbers Kafka uses to drop duplicates when a request is retried.
 */
import { type MessageRecord, NumericMap } from '@platformatic/kafka';
import type { Headers } from '../log.js';
import { getOrSet, type KafkaClient, offsetKey, unknownTopicError } from './kafka-client.js';
import { hasKafkaError } from './kafka-errors.js';

/** A producer id and epoch from InitProducerId, with the next sequence number per partition. */
export interface ProducerSession {
  producerId: bigint;
  producerEpoch: number;
  transactionalId: string | undefined;
  /** Next sequence per `topic:partition` (the library's key format). */
  sequences: NumericMap;
}

export interface OutgoingRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Map<Buffer, Buffer>;
  timestamp: bigint;
}

/** Kafka errors after which a session's sequence numbers no longer match the broker's: start a new session. */
export const SEQUENCE_ERRORS = ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID'] as const;

export function newSession(producerId: bigint, producerEpoch: number, transactionalId?: string): ProducerSession {
  return { producerId, producerEpoch, transactionalId, sequences: new NumericMap() };
}

/**
 * Timestamps inside one batch are stored as deltas from the first record's, and the library's 64-bit varint
 * encoder only handles deltas below 2^31 ms (it shifts by 31, not 63): records further apart go in separate
 * batches, sent one round after the other.
 */
const MAX_TIMESTAMP_DELTA = 2n ** 31n - 1n;

/**
 * Most bytes (keys, values, headers, and a per-record allowance) of one record batch: a broker refuses a batch
 * above `message.max.bytes` (1 MiB by default, uncompressed here), so a partition's records past this go in a
 * batch of their own, sent in the next round.
 */
export const MAX_BATCH_BYTES = 900 * 1024;

/** The bytes a record takes in a batch, about (a little over: varints counted at their largest). */
function recordBytes(r: OutgoingRecord): number {
  let bytes = 32 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const [k, v] of r.headers) bytes += 10 + k.length + v.length;
  return bytes;
}

/**
 * Runs of consecutive records of one partition whose timestamps fit one batch and whose bytes stay within
 * MAX_BATCH_BYTES; indexes into `records`.
 */
function batchRuns(records: ReadonlyArray<OutgoingRecord>): Map<string, number[][]> {
  const runs = new Map<string, number[][]>();
  const runBytes = new Map<number[], number>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as OutgoingRecord;
    const key = offsetKey(r.topic, r.partition);
    const list = getOrSet(runs, key, () => []);
    const run = list[list.length - 1];
    const first = run === undefined ? undefined : (records[run[0] as number] as OutgoingRecord);
    const delta = first === undefined ? 0n : r.timestamp - first.timestamp;
    const bytes = recordBytes(r);
    const size = run === undefined ? 0 : (runBytes.get(run) as number);
    if (
      run === undefined ||
      delta > MAX_TIMESTAMP_DELTA ||
      -delta > MAX_TIMESTAMP_DELTA ||
      (size + bytes > MAX_BATCH_BYTES && run.length > 0)
    ) {
      const fresh = [i];
      list.push(fresh);
      runBytes.set(fresh, bytes);
    } else {
      run.push(i);
      runBytes.set(run, size + bytes);
    }
  }
  return runs;
}

/**
 * Sends records (in order per partition) and returns the offset each record got, in input order.
 * Partitions whose leader moved are re-sent to the new leader with the same sequence numbers, so a retry
 * never writes twice.
 */
export async function produce(
  client: KafkaClient,
  session: ProducerSession,
  records: ReadonlyArray<OutgoingRecord>,
): Promise<number[]> {
  const offsets = new Array<number>(records.length);
  const runs = batchRuns(records);
  const rounds = Math.max(0, ...[...runs.values()].map((list) => list.length));
  for (let round = 0; round < rounds; round++) {
    const batch = new Map<string, number[]>();
    for (const [key, list] of runs) {
      const run = list[round];
      if (run !== undefined) batch.set(key, run);
    }
    const bases = await produceRound(client, session, records, batch);
    for (const [key, run] of batch) {
      const base = Number(bases.get(key));
      run.forEach((index, i) => {
        offsets[index] = base + i;
      });
    }
  }
  return offsets;
}

/** One Produce request per leader, one batch per partition; returns the base offset per partition. */
async function produceRound(
  client: KafkaClient,
  session: ProducerSession,
  records: ReadonlyArray<OutgoingRecord>,
  byPartition: Map<string, number[]>,
): Promise<Map<string, bigint>> {
  const apis = await client.apis();
  const bases = new Map<string, bigint>();
  await client.retry('producing records', async () => {
    const byLeader = new Map<number, OutgoingRecord[]>();
    for (const [key, run] of byPartition) {
      if (bases.has(key)) continue;
      const first = records[run[0] as number] as OutgoingRecord;
      const leader = (await client.topic(first.topic))?.partitions[first.partition]?.leader;
      if (leader === undefined) throw unknownTopicError(first.topic);
      const list = getOrSet(byLeader, leader, () => []);
      // Copies: the library fills in fields of the messages it serialises.
      for (const index of run) list.push({ ...(records[index] as OutgoingRecord) });
    }
    const failures: unknown[] = [];
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        // Null keys and values are valid on the wire (the library writes length -1) though its types say Buffer.
        const messages = list as unknown as MessageRecord[];
        let response: Exclude<Awaited<ReturnType<typeof apis.produce.async>>, boolean> | undefined;
        try {
          // The library reads `sequences` when it serialises the request, so a retried request reuses them.
          response = (await apis.produce.async(await client.connection(leader), -1, client.requestTimeoutMs, messages, {
            producerId: session.producerId,
            producerEpoch: session.producerEpoch,
            sequences: session.sequences,
            transactionalId: session.transactionalId,
          })) as typeof response;
        } catch (err) {
          failures.push(err);
          response = (err as { response?: typeof response }).response;
        }
        for (const t of response?.responses ?? []) {
          for (const p of t.partitionResponses) {
            if (p.errorCode !== 0) continue;
            const key = offsetKey(t.name, p.index);
            bases.set(key, p.baseOffset);
            const seqKey = `${t.name}:${p.index}`;
            session.sequences.set(seqKey, (session.sequences.get(seqKey) ?? 0) + (byPartition.get(key)?.length ?? 0));
          }
        }
      }),
    );
    // Only what failed is sent again; the errors decide whether that is worth trying.
    if (failures.length > 0) throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'produce failed');
  });
  return bases;
}

/** True when the error means the session's sequence numbers are out of step with the broker. */
export function isSequenceError(err: unknown): boolean {
  return hasKafkaError(err, SEQUENCE_ERRORS);
}

/** Starts an idempotent (not transactional) producer session, for appends outside any owner. */
export async function initIdempotentSession(client: KafkaClient): Promise<ProducerSession> {
  const apis = await client.apis();
  const response = await client.retry('starting an idempotent producer', async () =>
    apis.initProducerId.async(await client.connection(), null, client.requestTimeoutMs, -1n, -1),
  );
  return newSession(response.producerId, response.producerEpoch);
}

/** Appends outside any owner: one idempotent session, with appends queued so its sequence numbers stay in order. */
export class IdempotentAppender {
  readonly #client: KafkaClient;
  #session: ProducerSession | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: KafkaClient) {
    this.#client = client;
  }

  /** Sends records (checked already) after the appends before; resolves to their offsets, in order. */
  send(records: ReadonlyArray<OutgoingRecord>): Promise<number[]> {
    const single = new Set(records.map((r) => r.partition)).size === 1;
    const send = async (): Promise<number[]> => {
      for (let attempt = 0; ; attempt++) {
        this.#session ??= await initIdempotentSession(this.#client);
        try {
          return await produce(this.#client, this.#session, records);
        } catch (err) {
          if (!isSequenceError(err)) throw err;
          // The broker lost track of the session (expired) or it is out of step: start a new one. Into one
          // partition the refused batch was not written, so it is sent again; across several, some may have been.
          this.#session = undefined;
          if (attempt > 0 || !single) throw err;
        }
      }
    };
    const queued = this.#queue.then(send, send);
    this.#queue = queued.catch(() => undefined);
    return queued;
  }
}

/** Encoded header names: a few names (`slipway-source`) repeat on every record; the buffers are only read. */
const headerNames = new Map<string, Buffer>();

function headerName(name: string): Buffer {
  let encoded = headerNames.get(name);
  if (encoded === undefined) {
    encoded = Buffer.from(name, 'utf8');
    if (headerNames.size < 1024) headerNames.set(name, encoded);
  }
  return encoded;
}

/** Record headers as Kafka headers (UTF-8 keys and values). */
export function encodeHeaders(headers: Headers | undefined): Map<Buffer, Buffer> {
  const out = new Map<Buffer, Buffer>();
  if (headers === undefined) return out;
  for (const k in headers) {
    if (Object.hasOwn(headers, k)) out.set(headerName(k), Buffer.from(String(headers[k]), 'utf8'));
  }
  return out;
}
