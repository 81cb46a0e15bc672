/**
 * How the Kafka engine names what it makes on a cluster: the changelog topic of a state namespace and the
 * transactional id of an owner. Pure functions without the Kafka client, so `slipway kafka acls` (and any other
 * caller that only needs the names) does not load the client (whose import alone costs a CLI start a third of
 * its time).
 */
import { createHash } from 'node:crypto';

const SAFE = /^[A-Za-z0-9._-]+$/;
const MAX_TOPIC_NAME = 249;

/** The changelog topic of a namespace. Names Kafka would refuse are made safe and suffixed with a hash. */
export function stateTopicName(prefix: string, namespace: string): string {
  const base = `${prefix}-state.`;
  if (SAFE.test(namespace) && base.length + namespace.length <= MAX_TOPIC_NAME) return base + namespace;
  const hash = createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, 12);
  const readable = namespace.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, MAX_TOPIC_NAME - base.length - hash.length - 1);
  return `${base}${readable}-${hash}`;
}

/**
 * The transactional id of `owner` under `prefix`. Owner X commits as `<prefix>-X`, or as X itself when X already
 * starts with `<prefix>.` (see kafka-owner-sessions.ts for why the two forms never collide).
 */
export function transactionalIdOf(prefix: string, owner: string): string {
  const base = prefix.endsWith('-') ? prefix.slice(0, -1) : prefix;
  if (base === '' || owner.startsWith(`${base}.`)) return owner;
  return `${base}-${owner}`;
}
