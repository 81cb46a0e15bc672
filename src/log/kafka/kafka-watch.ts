/**
 * Change notification for `waitForChange`: long-polling, read-committed Fetch requests on the partitions of
 * every topic a handle has used, each from the last stable offset the handle last saw there. The broker
 * answers as soon as committed data lands past that offset, so a wake-up costs no polling delay.
 * Long polls go over their own connections so they never hold up the handle's other requests.
 */

import type { WaitOptions } from '../log.js';
import { getOrSet, Isolation, type KafkaClient, OffsetSpec, offsetKey } from './kafka-client.js';
import { hasKafkaError } from './kafka-errors.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Longest single long-poll; bounds how long a finished wait keeps a request in flight. */
const MAX_POLL_MS = 250;

type Outcome = 'changed' | 'quiet' | 'failed';
interface Target {
  topic: string;
  id: string;
  partition: number;
}

/** 'changed' as soon as one poll says so; otherwise 'failed' if any failed, else 'quiet'. */
function firstOutcome(polls: Array<Promise<Outcome>>): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let pending = polls.length;
    let failed = false;
    for (const p of polls) {
      const settle = (o: Outcome): void => {
        if (o === 'changed') resolve('changed');
        if (o === 'failed') failed = true;
        if (--pending === 0) resolve(failed ? 'failed' : 'quiet');
      };
      p.then(settle, () => settle('failed'));
    }
  });
}

export class ChangeWatcher {
  readonly #client: KafkaClient;
  readonly #internalPrefix: string;
  /** Last stable offset seen per topic and partition; undefined until first seen. */
  readonly #seen = new Map<string, Map<number, bigint>>();

  constructor(client: KafkaClient, internalPrefix: string) {
    this.#client = client;
    this.#internalPrefix = internalPrefix;
  }

  /** Watches a topic from now on. */
  touch(topic: string): void {
    if (!this.#seen.has(topic)) this.#seen.set(topic, new Map());
  }

  /** Stops watching a topic (it was deleted). */
  forget(topic: string): void {
    this.#seen.delete(topic);
  }

  /** Records that the partition's committed data ends at `lastStable` (as far as this handle knows). */
  saw(topic: string, partition: number, lastStable: bigint): void {
    const parts = getOrSet(this.#seen, topic, () => new Map());
    parts.set(partition, lastStable);
  }

  /**
   * `Log.waitForChange`: true on a change, false after the timeout, on abort, or when the log closes
   * (`closers` holds a callback per pending wait; the log calls them all on close).
   */
  waitForChange(options: WaitOptions, closers: Set<() => void>): Promise<boolean> {
    if (options.signal?.aborted === true) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let done = false;
      const finish = (changed: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        closers.delete(onClose);
        resolve(changed);
      };
      const onAbort = (): void => finish(false);
      const onClose = (): void => finish(false);
      const timer = setTimeout(() => finish(false), Math.max(0, options.timeoutMs));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      closers.add(onClose);
      // An error that outlived the client's retries wakes the caller (allowed); its next call reports it.
      this.wait(() => done, Date.now() + options.timeoutMs).then(
        (changed) => changed && finish(true),
        () => finish(true),
      );
    });
  }

  /** Resolves true when committed data changed past what was seen, false at `deadline` or when `done()`. */
  async wait(done: () => boolean, deadline: number): Promise<boolean> {
    if (this.#seen.size === 0) {
      // Nothing used yet: watch every user topic.
      for (const t of await this.#client.allTopics()) {
        if (!t.internal && !t.name.startsWith(this.#internalPrefix)) this.touch(t.name);
      }
    }
    while (!done()) {
      const byLeader = await this.#targets();
      if (byLeader.size === 0) return false;
      // Poll until a change, or until a poll fails (a moved leader): then look up the leaders again.
      for (let outcome: Outcome = 'quiet'; outcome === 'quiet' && !done(); ) {
        const waitMs = Math.min(deadline - Date.now(), MAX_POLL_MS);
        if (waitMs <= 0) return false;
        outcome = await firstOutcome([...byLeader].map(([leader, list]) => this.#poll(leader, list, waitMs)));
        if (outcome === 'changed') return true;
      }
    }
    return false;
  }

  /** Watched partitions by leader; partitions never seen get their current last stable offset. */
  async #targets(): Promise<Map<number, Target[]>> {
    const unknown: Array<{ topic: string; partition: number }> = [];
    const byLeader = new Map<number, Target[]>();
    for (const [topic, parts] of this.#seen) {
      const meta = await this.#client.topic(topic);
      if (meta === undefined) continue;
      meta.partitions.forEach((p, partition) => {
        if (!parts.has(partition)) unknown.push({ topic, partition });
        getOrSet(byLeader, p.leader, () => []).push({ topic, id: meta.id, partition });
      });
    }
    if (unknown.length > 0) {
      const ends = await this.#client.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, unknown);
      for (const u of unknown) this.saw(u.topic, u.partition, ends.get(offsetKey(u.topic, u.partition)) ?? 0n);
    }
    return byLeader;
  }

  async #poll(leader: number, list: Target[], waitMs: number): Promise<Outcome> {
    const apis = await this.#client.apis();
    const byId = new Map<string, { topic: string; partitions: number[] }>();
    for (const e of list) {
      const entry = getOrSet(byId, e.id, () => ({ topic: e.topic, partitions: [] as number[] }));
      entry.partitions.push(e.partition);
    }
    const from = (topic: string, partition: number) => this.#seen.get(topic)?.get(partition) ?? 0n;
    try {
      const response = await apis.fetch.async(
        await this.#client.connection(leader, { longPoll: true }),
        waitMs,
        1,
        64 * 1024,
        Isolation.READ_COMMITTED,
        0,
        -1,
        [...byId].map(([topicId, e]) => ({
          topicId,
          partitions: e.partitions.map((partition) => ({
            partition,
            fetchOffset: from(e.topic, partition),
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
            partitionMaxBytes: 1024,
          })),
        })),
        [],
        '',
      );
      let outcome: Outcome = 'quiet';
      for (const t of response.responses) {
        const topic = byId.get(t.topicId)?.topic;
        if (topic === undefined) continue;
        for (const p of t.partitions) {
          if ((p.records?.length ?? 0) > 0 || p.lastStableOffset !== from(topic, p.partitionIndex)) {
            this.saw(topic, p.partitionIndex, p.lastStableOffset);
            outcome = 'changed';
          }
        }
      }
      return outcome;
    } catch (err) {
      for (const e of byId.values()) this.#client.forgetTopic(e.topic);
      if (hasKafkaError(err, ['OFFSET_OUT_OF_RANGE'])) {
        // The partition ends before what was seen: truncated or re-created. That is a change.
        for (const e of byId.values()) this.#seen.get(e.topic)?.clear();
        return 'changed';
      }
      // A leader just elected or moved, a broker restarting: not a change. Look again shortly.
      await sleep(Math.min(waitMs, 50));
      return 'failed';
    }
  }
}
