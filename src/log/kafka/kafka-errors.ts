/**
 * Reading @platformatic/kafka errors (a tree of `MultipleErrors` / `ResponseError` around `ProtocolError`s
 * that carry Kafka's error name in `apiId`) and turning what is left of them into `SlipwayError`s.
 */
import { isSlipwayError, SlipwayError } from '../../errors.js';

/** Kafka errors that mean another producer session took the transactional id over. */
export const FENCING_ERRORS = ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING'] as const;

/** Kafka errors that mean the cached topic metadata (leaders, ids) is out of date. */
export const STALE_METADATA_ERRORS = [
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
  'INCONSISTENT_TOPIC_ID',
] as const;

/** Kafka errors that mean the cached group or transaction coordinator moved. */
export const COORDINATOR_ERRORS = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE'] as const;

interface ErrorLike {
  code?: unknown;
  apiId?: unknown;
  canRetry?: unknown;
  errors?: unknown;
}

/** Every leaf error of a (possibly nested) library error. */
function leaves(err: unknown, out: ErrorLike[] = [], depth = 0): ErrorLike[] {
  if (typeof err !== 'object' || err === null || depth > 8) return out;
  const e = err as ErrorLike;
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    for (const inner of e.errors) leaves(inner, out, depth + 1);
  } else {
    out.push(e);
  }
  return out;
}

/** The Kafka error names (`PRODUCER_FENCED`, …) inside a library error. */
export function kafkaErrorIds(err: unknown): string[] {
  const ids = new Set<string>();
  for (const leaf of leaves(err)) if (typeof leaf.apiId === 'string') ids.add(leaf.apiId);
  return [...ids];
}

/** True when the library error carries one of the Kafka error names. */
export function hasKafkaError(err: unknown, ids: ReadonlyArray<string>): boolean {
  return kafkaErrorIds(err).some((id) => ids.includes(id));
}

/** True when every leaf is a network error (connection refused, closed, timed out). */
export function isNetworkError(err: unknown): boolean {
  const all = leaves(err);
  return all.length > 0 && all.every((l) => l.code === 'PLT_KFK_NETWORK');
}

/**
 * True when a connection failed at SASL authentication or at the TLS handshake's certificate checks (an untrusted
 * or expired certificate, a wrong key password): the library reports those as network errors with the cause inside.
 */
export function isAuthenticationFailure(err: unknown): boolean {
  for (const leaf of leaves(err)) {
    let at: unknown = leaf;
    for (let i = 0; i < 6 && typeof at === 'object' && at !== null; i++) {
      const code = (at as { code?: unknown }).code;
      if (typeof code === 'string' && (code === 'PLT_KFK_AUTHENTICATION' || TLS_FAILURE.test(code))) return true;
      const next = at as { cause?: unknown; errors?: unknown[] };
      at = next.cause ?? (Array.isArray(next.errors) ? next.errors[0] : undefined);
    }
  }
  return false;
}

const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH)/;

/** Kafka's authorization errors, by the resource type whose ACL is missing. */
export const AUTHORIZATION_ERRORS = {
  TOPIC_AUTHORIZATION_FAILED: 'topic',
  GROUP_AUTHORIZATION_FAILED: 'group',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'transactional-id',
  CLUSTER_AUTHORIZATION_FAILED: 'cluster',
} as const;

/** Kafka's numeric codes of TOPIC_, GROUP_, CLUSTER_ and TRANSACTIONAL_ID_AUTHORIZATION_FAILED. */
const AUTHORIZATION_CODES = new Set([29, 30, 31, 53]);

/**
 * The names (topics, groups, transactional ids) that carry an error code in a library error's response: the
 * resources a request was refused on.
 */
export function deniedResources(err: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown, name: string | undefined, depth: number): void => {
    if (typeof node !== 'object' || node === null || depth > 8) return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, name, depth + 1);
      return;
    }
    const o = node as Record<string, unknown>;
    const own = ['name', 'topic', 'groupId', 'transactionalId', 'resourceName']
      .map((k) => o[k])
      .find((v) => typeof v === 'string');
    const here = typeof own === 'string' ? own : name;
    // `errorCode`, or a request's own spelling of it (AddPartitionsToTxn: `partitionErrorCode`).
    // Only authorization codes: the other resources of a refused request answer OPERATION_NOT_ATTEMPTED.
    const failed = Object.entries(o).some(
      ([k, v]) => /(^e|E)rrorCode$/.test(k) && typeof v === 'number' && AUTHORIZATION_CODES.has(v),
    );
    if (failed && here !== undefined) found.add(here);
    for (const [k, v] of Object.entries(o)) if (k !== 'cause' && typeof v === 'object') walk(v, here, depth + 1);
  };
  for (const leaf of [err, ...leaves(err)]) walk((leaf as { response?: unknown }).response, undefined, 0);
  return [...found].sort();
}

/** True when trying again may help: network trouble, or only Kafka errors Kafka itself calls retriable. */
export function isRetriable(err: unknown): boolean {
  if (isSlipwayError(err)) return err.retryable;
  const all = leaves(err);
  if (all.length === 0) return false;
  return all.every((l) => l.code === 'PLT_KFK_NETWORK' || (typeof l.apiId === 'string' && l.canRetry === true));
}

/** True for errors of the Kafka client library (as opposed to bugs, or SlipwayErrors already). */
export function isKafkaClientError(err: unknown): boolean {
  const all = leaves(err);
  return (
    all.length > 0 &&
    all.every(
      (l) =>
        typeof l.apiId === 'string' ||
        (typeof l.code === 'string' && (l.code.startsWith('PLT_KFK_') || l.code === 'OUT_OF_BOUNDS')),
    )
  );
}

/**
 * Wraps whatever is left after retries into a SlipwayError: `SLIPWAY_KAFKA_UNAVAILABLE` (retryable) for network
 * trouble and retriable Kafka errors that outlived the retry budget, `SLIPWAY_KAFKA_REJECTED` for the rest.
 */
export function toSlipwayError(err: unknown, what: string, brokers: ReadonlyArray<string>): SlipwayError {
  if (err instanceof SlipwayError) return err;
  if (isSlipwayError(err)) return err as SlipwayError;
  const ids = kafkaErrorIds(err);
  const detail = ids.length > 0 ? ids.join(', ') : err instanceof Error ? err.message : String(err);
  const denied = ids.find((id) => id in AUTHORIZATION_ERRORS);
  if (denied !== undefined) {
    const resourceType = AUTHORIZATION_ERRORS[denied as keyof typeof AUTHORIZATION_ERRORS];
    const resources = deniedResources(err);
    const named = resources.length > 0 ? ` '${resources.join("', '")}'` : '';
    return new SlipwayError(
      'SLIPWAY_KAFKA_NOT_AUTHORIZED',
      `Kafka denied ${what}: the principal has no ACL for it on the ${resourceType}${named} (${denied}). Grant what \`slipway kafka acls --env <env>\` lists for this pipeline, then try again.`,
      { cause: err, details: { kafkaErrors: ids, resourceType, resources, operation: what, brokers: [...brokers] } },
    );
  }
  if (isRetriable(err)) {
    return new SlipwayError(
      'SLIPWAY_KAFKA_UNAVAILABLE',
      `Kafka did not complete ${what} (${detail}). Check that the brokers ${brokers.join(', ')} are running and reachable, then try again.`,
      { retryable: true, cause: err, details: { kafkaErrors: ids, brokers: [...brokers] } },
    );
  }
  return new SlipwayError(
    'SLIPWAY_KAFKA_REJECTED',
    `Kafka refused ${what} (${detail}). Check the cluster's ACLs, policies and version (Kafka 3.1 or newer is needed).`,
    { cause: err, details: { kafkaErrors: ids, brokers: [...brokers] } },
  );
}
