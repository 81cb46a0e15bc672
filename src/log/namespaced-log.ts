import { SlipwayError } from '../errors.js';
import type {
  AppendRecord,
  CommitBatch,
  CommitResult,
  CreateTopicOptions,
  Log,
  LogRecord,
  PartitionOffset,
  Snapshot,
  SnapshotRequest,
  StateChanges,
  TopicInfo,
  TopicSettings,
  WaitOptions,
} from './log.js';
import { checkDeletableTopics, checkList, checkTopicName } from './log-checks.js';
import type { ValueCodecs } from './value-codec.js';

/** What a namespace made on the log: everything `dropNamespace` removes. */
export interface NamespaceInventory {
  topics: string[];
  groups: string[];
  owners: string[];
  stateNamespaces: string[];
}

/** A Log seen through a namespace (an environment's or a workspace's topic prefix). */
export interface NamespacedLog extends Log {
  /** The prefix every name carries on the underlying log, e.g. `staging.` or `ws-alice.`. */
  readonly prefix: string;
  /** Everything the namespace made (names as the namespace sees them, without the prefix). */
  inventory(): Promise<NamespaceInventory>;
  /** Deletes everything the namespace made, and its own registry; returns what it deleted. */
  dropNamespace(): Promise<NamespaceInventory>;
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The namespace's registry of the groups, owners and state namespaces it used (topics are listed by prefix). */
const REGISTRY = '__slipway-namespace';

type Kind = 'group' | 'owner' | 'state';

/**
 * A namespace on a shared log: every topic, consumer group, owner and state namespace gets `prefix`
 * on the underlying log, and loses it on the way back, so environments and developers' workspaces can
 * share one Kafka cluster (or one embedded file) without seeing each other's records, offsets or
 * epochs. Everything above the Log (runners, the controller, the CLI) works unchanged. Groups, owners
 * and state namespaces are recorded in a registry topic of the namespace before their first use, so
 * `dropNamespace` can remove every one of them (the Log has no way to list them on every engine).
 *
 * @example
 * const staging = namespaceLog(await openLog({ engine: 'kafka', brokers }), 'staging.')
 * await staging.createTopic('orders.v1', { partitions: 4 }) // the cluster has staging.orders.v1
 */
export function namespaceLog(log: Log, prefix: string): NamespacedLog {
  if (!PREFIX.test(prefix)) {
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `The namespace prefix '${prefix}' is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. 'staging.' or 'ws-alice.').`,
      { details: { prefix } },
    );
  }
  const p = (name: string): string => `${prefix}${name}`;
  const strip = (name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const mine = (name: string): boolean => name.startsWith(prefix);
  const registry = p(REGISTRY);
  const known: Record<Kind, Set<string>> = { group: new Set(), owner: new Set(), state: new Set() };
  let registryReady: Promise<void> | undefined;

  /** Records that the namespace uses a group, owner or state namespace, before it is used the first time. */
  const use = async (kind: Kind, name: string): Promise<void> => {
    if (known[kind].has(name)) return;
    registryReady ??= log.createTopic(registry, { partitions: 1 });
    await registryReady;
    await log.append(registry, [{ partition: 0, key: `${kind}:${name}`, value: JSON.stringify({ kind, name }) }]);
    known[kind].add(name);
  };

  const offsetsIn = (offsets: ReadonlyArray<PartitionOffset>): PartitionOffset[] =>
    offsets.map((o) => ({ ...o, topic: p(o.topic) }));
  const offsetsOut = (offsets: ReadonlyArray<PartitionOffset>): PartitionOffset[] =>
    offsets.filter((o) => mine(o.topic)).map((o) => ({ ...o, topic: strip(o.topic) }));
  const recordsOut = (records: LogRecord[]): LogRecord[] => {
    for (const r of records) r.topic = strip(r.topic);
    return records;
  };

  const inventory = async (): Promise<NamespaceInventory> => {
    const found: Record<Kind, Set<string>> = { group: new Set(), owner: new Set(), state: new Set() };
    if ((await log.describeTopic(registry)) !== undefined) {
      let offset = 0;
      for (;;) {
        const records = await log.read(registry, 0, offset, 1000);
        if (records.length === 0) break;
        for (const r of records) {
          const entry = JSON.parse(r.value) as { kind: Kind; name: string };
          found[entry.kind]?.add(entry.name);
        }
        offset = (records.at(-1) as LogRecord).offset + 1;
      }
    }
    const topics = (await log.listTopics())
      .map((t) => t.name)
      .filter((t) => mine(t) && t !== registry)
      .map(strip);
    return {
      topics: topics.sort(),
      groups: [...found.group].sort(),
      owners: [...found.owner].sort(),
      stateNamespaces: [...found.state].sort(),
    };
  };

  const namespaced: NamespacedLog = {
    engine: log.engine,
    prefix,
    // Names are checked as the namespace sees them (a prefix would make '' or '__x' look valid).
    async createTopic(name: string, options: CreateTopicOptions) {
      checkTopicName(name, options?.partitions);
      await log.createTopic(p(name), options);
    },
    async describeTopic(name: string): Promise<TopicInfo | undefined> {
      const info = await log.describeTopic(p(name));
      return info === undefined ? undefined : { ...info, name };
    },
    async listTopics(): Promise<TopicInfo[]> {
      return (await log.listTopics())
        .filter((t) => mine(t.name) && t.name !== registry)
        .map((t) => ({ ...t, name: strip(t.name) }));
    },
    ...(log.topicSettings === undefined
      ? {}
      : {
          topicSettings: (name: string): Promise<TopicSettings | undefined> =>
            (log.topicSettings as (n: string) => Promise<TopicSettings | undefined>)(p(name)),
        }),
    ...(log.growTopic === undefined
      ? {}
      : {
          growTopic: (name: string, partitions: number): Promise<void> =>
            (log.growTopic as (n: string, c: number) => Promise<void>)(p(name), partitions),
        }),
    ...(log.setTopicSettings === undefined
      ? {}
      : {
          setTopicSettings: (name: string, settings: TopicSettings): Promise<void> =>
            (log.setTopicSettings as (n: string, s: TopicSettings) => Promise<void>)(p(name), settings),
        }),
    append: (topic: string, records: ReadonlyArray<AppendRecord>) => log.append(p(topic), records),
    async read(topic, partition, fromOffset, max) {
      return recordsOut(await log.read(p(topic), partition, fromOffset, max));
    },
    endOffset: (topic, partition) => log.endOffset(p(topic), partition),
    countRecords: (topic, partition) => log.countRecords(p(topic), partition),
    async committedOffsets(group) {
      return offsetsOut(await log.committedOffsets(p(group)));
    },
    async commitOffsets(group, offsets) {
      await use('group', group);
      await log.commitOffsets(p(group), offsetsIn(offsets));
    },
    async fence(owner) {
      await use('owner', owner);
      return log.fence(p(owner));
    },
    currentEpoch: (owner) => log.currentEpoch(p(owner)),
    async commit(batch: CommitBatch): Promise<CommitResult> {
      await use('owner', batch.owner);
      if (batch.offsets !== undefined) await use('group', batch.offsets.group);
      if (batch.state !== undefined) await use('state', batch.state.namespace);
      const result = await log.commit({
        owner: p(batch.owner),
        epoch: batch.epoch,
        ...(batch.outputs === undefined
          ? {}
          : { outputs: batch.outputs.map((o) => ({ topic: p(o.topic), records: o.records })) }),
        ...(batch.state === undefined ? {} : { state: { ...batch.state, namespace: p(batch.state.namespace) } }),
        ...(batch.offsets === undefined
          ? {}
          : { offsets: { group: p(batch.offsets.group), offsets: offsetsIn(batch.offsets.offsets) } }),
      });
      const offsets = Object.fromEntries(Object.entries(result.offsets).map(([t, o]) => [strip(t), o]));
      return result.stateNext === undefined ? { offsets } : { offsets, stateNext: result.stateNext };
    },
    readState: (namespace, partition) => log.readState(p(namespace), partition),
    ...(log.readStateChanges === undefined
      ? {}
      : {
          readStateChanges: (namespace: string, partition: number, from: number): Promise<StateChanges> =>
            (log.readStateChanges as NonNullable<Log['readStateChanges']>)(p(namespace), partition, from),
        }),
    ...(log.claimEpoch === undefined
      ? {}
      : {
          claimEpoch: async (owner: string, epoch: number): Promise<void> => {
            await use('owner', owner);
            await (log.claimEpoch as NonNullable<Log['claimEpoch']>)(p(owner), epoch);
          },
        }),
    async deleteTopics(names) {
      checkDeletableTopics(names);
      await log.deleteTopics(names.map(p));
    },
    async deleteGroups(groups) {
      checkList('deleteGroups', 'consumer groups', groups);
      await log.deleteGroups(groups.map(p));
    },
    async forgetOwners(owners) {
      checkList('forgetOwners', 'owners', owners);
      await log.forgetOwners(owners.map(p));
    },
    async deleteStateNamespaces(namespaces) {
      checkList('deleteStateNamespaces', 'state namespaces', namespaces);
      await log.deleteStateNamespaces(namespaces.map(p));
    },
    async snapshot(request: SnapshotRequest): Promise<Snapshot> {
      const snap = await log.snapshot({
        group: p(request.group),
        namespace: p(request.namespace),
        partitions: request.partitions,
        topics: request.topics.map(p),
      });
      return { offsets: offsetsOut(snap.offsets), state: snap.state, endOffsets: offsetsOut(snap.endOffsets) };
    },
    waitForChange: (options: WaitOptions) => log.waitForChange(options),
    ...(log.withValueCodecs === undefined
      ? {}
      : {
          // The codecs' topics as the underlying log names them; the view shares the log, so its close is a no-op.
          withValueCodecs: (codecs: ValueCodecs): Log => {
            const inner = (log.withValueCodecs as NonNullable<Log['withValueCodecs']>)(
              new Map([...codecs].map(([topic, codec]) => [p(topic), codec] as const)),
            );
            return namespaceLog(inner, prefix);
          },
        }),
    close: () => log.close(),
    inventory,
    async dropNamespace(): Promise<NamespaceInventory> {
      const made = await inventory();
      await log.deleteTopics(made.topics.map(p));
      await log.deleteGroups(made.groups.map(p));
      await log.forgetOwners(made.owners.map(p));
      await log.deleteStateNamespaces(made.stateNamespaces.map(p));
      // The registry goes last: a drop interrupted before it can be run again and finds everything.
      // (Its name starts with the prefix, never with `__`, so deleteTopics takes it.)
      await log.deleteTopics([registry]);
      for (const set of Object.values(known)) set.clear();
      registryReady = undefined;
      return made;
    },
  };
  return namespaced;
}
