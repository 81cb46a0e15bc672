/**
 * The Kafka ACLs a runner of a pipeline needs on a cluster with an authorizer: which topics it reads and writes,
 * its consumer group, its transactional ids and Slipway's internal topics, named exactly as the Kafka engine
 * names them (kafka-names.ts, which the engine uses too). Printed by
 * `slipway kafka acls --env <env>` as kafka-acls.sh commands and as a list; created by tests with the Admin API.
 */
import { stateTopicName, transactionalIdOf } from './kafka-names.js';

export type AclResourceType = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER';
export type AclPatternType = 'LITERAL' | 'PREFIXED';
export type AclOperation = 'READ' | 'WRITE' | 'CREATE' | 'ALTER' | 'DESCRIBE' | 'DESCRIBE_CONFIGS' | 'IDEMPOTENT_WRITE';

/** One ACL binding: allow `principal` these operations on one resource (or every resource with a prefix). */
export interface KafkaAcl {
  principal: string;
  resourceType: AclResourceType;
  patternType: AclPatternType;
  name: string;
  operations: AclOperation[];
  /** Why the runner needs it, in a few words. */
  why: string;
}

/** What a pipeline touches, in the names it declares (the namespace is added here). */
export interface AclPipeline {
  name: string;
  /** Input topics (`orders.v1`), each with its dead-letter topic `<input>.dlq`. */
  inputs: string[];
  /** Output topics. */
  outputs: string[];
}

export interface KafkaAclOptions {
  /** `User:<name>`, or a user name. */
  principal: string;
  pipelines: AclPipeline[];
  /** The environment's topic prefix (`staging.`): every topic, group, owner and state namespace carries it. */
  namespace?: string;
  /** As `KafkaLogOptions.transactionalIdPrefix` (default `slipway`). */
  transactionalIdPrefix?: string;
  /** As `KafkaLogOptions.internalTopicPrefix` (default `__slipway`). */
  internalTopicPrefix?: string;
}

/**
 * The ACLs the runners of `pipelines` need, per pipeline, in a stable order. Topics and the state changelog are
 * LITERAL; the group and transactional ids are PREFIXED by the pipeline's owner, which covers its runners when it
 * is scaled out (`<owner>.r1of2`, …) and its shadow runs (`<owner>.shadow.<id>`).
 *
 * @example
 * const acls = kafkaAcls({ principal: 'orders-app', pipelines: [{ name: 'enrich', inputs: ['orders.v1'], outputs: ['enriched.v1'] }] })
 */
export function kafkaAcls(options: KafkaAclOptions): KafkaAcl[] {
  const principal = options.principal.includes(':') ? options.principal : `User:${options.principal}`;
  const ns = options.namespace ?? '';
  const txPrefix = options.transactionalIdPrefix ?? 'slipway';
  const internal = options.internalTopicPrefix ?? '__slipway';
  const out: KafkaAcl[] = [];
  const add = (
    resourceType: AclResourceType,
    patternType: AclPatternType,
    name: string,
    operations: AclOperation[],
    why: string,
  ) => {
    out.push({ principal, resourceType, patternType, name, operations, why });
  };
  for (const p of options.pipelines) {
    for (const input of p.inputs) {
      add('TOPIC', 'LITERAL', ns + input, ['READ', 'DESCRIBE'], `input of ${p.name}`);
      add(
        'TOPIC',
        'LITERAL',
        `${ns + input}.dlq`,
        ['CREATE', 'WRITE', 'READ', 'DESCRIBE'],
        `dead letters of ${p.name}`,
      );
    }
    for (const output of p.outputs)
      add('TOPIC', 'LITERAL', ns + output, ['CREATE', 'WRITE', 'DESCRIBE'], `output of ${p.name}`);
    const owner = `${ns}slipway.${p.name}`;
    add('GROUP', 'PREFIXED', owner, ['READ', 'DESCRIBE'], `input offsets of ${p.name}`);
    add(
      'TRANSACTIONAL_ID',
      'PREFIXED',
      transactionalIdOf(txPrefix, owner),
      ['WRITE', 'DESCRIBE'],
      `transactions of ${p.name}`,
    );
    // An older Slipway named the id `<prefix>-<owner>`; taking the owner over looks for (and fences) it.
    const legacy = `${txPrefix.endsWith('-') ? txPrefix : `${txPrefix}-`}${owner}`;
    if (legacy !== transactionalIdOf(txPrefix, owner))
      add(
        'TRANSACTIONAL_ID',
        'PREFIXED',
        legacy,
        ['DESCRIBE'],
        `fencing ${p.name}'s sessions of older Slipway versions`,
      );
    add(
      'TOPIC',
      'LITERAL',
      stateTopicName(internal, `${ns}${p.name}`),
      // ALTER: the changelog gets more partitions when an input does.
      ['CREATE', 'ALTER', 'READ', 'WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
      `keyed state of ${p.name}`,
    );
  }
  if (options.pipelines.length > 0) {
    add(
      'TOPIC',
      'LITERAL',
      `${internal}-owners`,
      ['CREATE', 'READ', 'WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
      'owners and epochs',
    );
    if (ns !== '')
      add(
        'TOPIC',
        'LITERAL',
        `${ns}__slipway-namespace`,
        ['CREATE', 'READ', 'WRITE', 'DESCRIBE'],
        `registry of namespace ${ns}`,
      );
  }
  return out;
}

/** kafka-acls.sh commands that create `acls` (one per binding and operation list). */
export function aclCommands(acls: KafkaAcl[], bootstrap = '<bootstrap>', config = '<admin.properties>'): string[] {
  const flag: Record<AclResourceType, string> = {
    TOPIC: '--topic',
    GROUP: '--group',
    TRANSACTIONAL_ID: '--transactional-id',
    CLUSTER: '--cluster',
  };
  return acls.map((a) => {
    const ops = a.operations.map((o) => `--operation ${cliOperation(o)}`).join(' ');
    const resource = a.resourceType === 'CLUSTER' ? '--cluster' : `${flag[a.resourceType]} '${a.name}'`;
    const pattern = a.patternType === 'PREFIXED' ? ' --resource-pattern-type prefixed' : '';
    return `kafka-acls.sh --bootstrap-server ${bootstrap} --command-config ${config} --add --allow-principal '${a.principal}' ${ops} ${resource}${pattern}`;
  });
}

function cliOperation(op: AclOperation): string {
  return op
    .toLowerCase()
    .split('_')
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('');
}
