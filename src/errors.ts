/**
 * Every error Slipway throws is a {@link SlipwayError} with a stable `code`.
 * Code checks errors by `code`, never by message text.
 */
export const ErrorCodes = {
  /** Thrown when a commit comes from an owner epoch that is no longer current. Nothing was written. */
  FENCED: 'SLIPWAY_FENCED',
  /** Thrown when a record does not match its dataset's schema. */
  VALIDATION: 'SLIPWAY_VALIDATION',
  /** Thrown when a dataset, pipeline or config definition is malformed. */
  INVALID_DEFINITION: 'SLIPWAY_INVALID_DEFINITION',
  /** Thrown when pipeline config does not match the pipeline's config schema. */
  INVALID_CONFIG: 'SLIPWAY_INVALID_CONFIG',
  /** Thrown when a topic is read or written that does not exist. */
  TOPIC_NOT_FOUND: 'SLIPWAY_TOPIC_NOT_FOUND',
  /** Thrown when a topic is created again with a different partition count. */
  TOPIC_MISMATCH: 'SLIPWAY_TOPIC_MISMATCH',
  /** Thrown when a partition number is outside the topic. */
  PARTITION_NOT_FOUND: 'SLIPWAY_PARTITION_NOT_FOUND',
  /** Thrown when an offset is negative, not an integer, or beyond the end of a partition. */
  INVALID_OFFSET: 'SLIPWAY_INVALID_OFFSET',
  /** Thrown when the embedded log database stays locked by another process past the busy timeout. */
  LOG_LOCKED: 'SLIPWAY_LOG_LOCKED',
  /** Thrown when the embedded log file is not a Slipway database or is damaged. */
  LOG_CORRUPT: 'SLIPWAY_LOG_CORRUPT',
  /** Thrown when the log is used after close(). */
  LOG_CLOSED: 'SLIPWAY_LOG_CLOSED',
  /** Thrown when a runner command is not allowed in the runner's current state. */
  INVALID_STATE: 'SLIPWAY_INVALID_STATE',
  /** Thrown when a file named on the command line or in a call cannot be read. */
  FILE_NOT_FOUND: 'SLIPWAY_FILE_NOT_FOUND',
  /** Thrown when a module does not export what was asked of it (a pipeline, a dataset). */
  NOT_EXPORTED: 'SLIPWAY_NOT_EXPORTED',
  /** Thrown when an input line cannot be parsed (bad JSON in a .jsonl file). */
  PARSE: 'SLIPWAY_PARSE',
  /** Thrown when a command-line argument or option is invalid. */
  USAGE: 'SLIPWAY_USAGE',
  /** Thrown when a supervised runner process exited while a command to it was pending. */
  RUNNER_EXITED: 'SLIPWAY_RUNNER_EXITED',
  /** Thrown when a supervised runner reported an error without a Slipway code. */
  RUNNER_FAILED: 'SLIPWAY_RUNNER_FAILED',
  /** Thrown when the control store cannot be opened or written. */
  CONTROL_STORE: 'SLIPWAY_CONTROL_STORE',
  /** Thrown when a deployment id is unknown. */
  DEPLOYMENT_NOT_FOUND: 'SLIPWAY_DEPLOYMENT_NOT_FOUND',
  /** Thrown when a deployment is refused before it starts (nothing live, one already running, state change without migration). */
  DEPLOY_REFUSED: 'SLIPWAY_DEPLOY_REFUSED',
  /** Thrown when the control-plane daemon cannot be reached. */
  DAEMON_UNAVAILABLE: 'SLIPWAY_DAEMON_UNAVAILABLE',
  /** Thrown when a masking rule needs the secret key (`SLIPWAY_MASK_KEY`) and it is unset or shorter than 16 characters. */
  MASK_KEY_MISSING: 'SLIPWAY_MASK_KEY_MISSING',
  /** Thrown when a sample would keep a field that looks like personal data (emails, phone or card numbers) unmasked. */
  PII_UNMASKED: 'SLIPWAY_PII_UNMASKED',
  /** Thrown when a stored sample (`samples/<topic>/<name>.jsonl`) does not exist. */
  SAMPLE_NOT_FOUND: 'SLIPWAY_SAMPLE_NOT_FOUND',
  /** Thrown by `slipway sample check` when live data has drifted from the sample. */
  SAMPLE_DRIFT: 'SLIPWAY_SAMPLE_DRIFT',
  /** Thrown when long work (a capture, a scan) is stopped by its abort signal. Nothing was written. */
  INTERRUPTED: 'SLIPWAY_INTERRUPTED',
  /** Thrown when the Kafka cluster cannot be reached or does not answer in time (retryable). */
  KAFKA_UNAVAILABLE: 'SLIPWAY_KAFKA_UNAVAILABLE',
  /** Thrown when the Kafka cluster refuses a request for a reason retrying will not fix (ACLs, policy, old broker). */
  KAFKA_REJECTED: 'SLIPWAY_KAFKA_REJECTED',
  /** Thrown when `slipway build` cannot bundle a pipeline (a syntax error, an import that does not resolve); the message lists esbuild's errors with file:line. */
  BUILD_FAILED: 'SLIPWAY_BUILD_FAILED',
  /** Thrown when no artifact in the store matches a digest or digest prefix. */
  ARTIFACT_NOT_FOUND: 'SLIPWAY_ARTIFACT_NOT_FOUND',
  /** Thrown when a digest prefix matches more than one artifact in the store. */
  ARTIFACT_AMBIGUOUS: 'SLIPWAY_ARTIFACT_AMBIGUOUS',
  /** Thrown when an artifact's files no longer match its digest (the bundle or the manifest was changed after the build). */
  ARTIFACT_TAMPERED: 'SLIPWAY_ARTIFACT_TAMPERED',
  /** Thrown when an artifact's code, once loaded, defines a different pipeline than its manifest records. */
  ARTIFACT_MISMATCH: 'SLIPWAY_ARTIFACT_MISMATCH',
  /** Thrown when a command would run a pipeline that a control plane runs on the same log (it would fence the live runner); the message names the control plane and the release. */
  MANAGED: 'SLIPWAY_MANAGED',
  /** Thrown when the control plane refuses a request from where it came (a change from another machine, until the API has tokens and roles). */
  FORBIDDEN: 'SLIPWAY_FORBIDDEN',
  /** Thrown when the control plane failed in a way that is a bug in Slipway, not in the request; the message says what happened. */
  INTERNAL: 'SLIPWAY_INTERNAL',
  /** Thrown when a deployment is refused by the release gate: the artifact has no passing test report (`slipway test --artifact <digest>`), or its latest report failed. */
  RELEASE_GATE: 'SLIPWAY_RELEASE_GATE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface SlipwayErrorOptions {
  /** Whether trying the same operation again may succeed. */
  retryable?: boolean;
  cause?: unknown;
  /** Extra machine-readable facts about the error (paths, offsets, epochs). */
  details?: Record<string, unknown>;
}

/**
 * The one error class of Slipway.
 *
 * @example
 * try { await log.commit(batch) } catch (err) {
 *   if (isSlipwayError(err, 'SLIPWAY_FENCED')) stopWriting()
 * }
 */
export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SlipwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

/** True when `err` is a SlipwayError (optionally with the given code). */
export function isSlipwayError(err: unknown, code?: ErrorCode): err is SlipwayError {
  // Duck-typed so errors crossing module copies (a user's bundle, a child process) still match.
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('SLIPWAY_')) return false;
  return code === undefined || c === code;
}

/** An error as it crosses a process or the network: the runner IPC and the HTTP API use this one form. */
export interface ErrorJSON {
  code?: string;
  message: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: ErrorJSON;
}

/** Any thrown value as an {@link ErrorJSON}: a SlipwayError keeps its code, retryable flag and details. */
export function errorToJSON(err: unknown, depth = 0): ErrorJSON {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown; details?: unknown; cause?: unknown };
  const json: ErrorJSON = { message: typeof e.message === 'string' ? e.message : String(err) };
  if (typeof e.code === 'string') json.code = e.code;
  if (typeof e.retryable === 'boolean') json.retryable = e.retryable;
  if (typeof e.details === 'object' && e.details !== null && Object.keys(e.details).length > 0)
    json.details = e.details as Record<string, unknown>;
  if (e.cause !== undefined && depth < 4) json.cause = errorToJSON(e.cause, depth + 1);
  return json;
}

/**
 * The SlipwayError an {@link ErrorJSON} describes: same code, message, retryable flag and details. A code
 * that is not Slipway's becomes `fallback`, with the original code kept in `details.code`.
 */
export function errorFromJSON(json: ErrorJSON, fallback: ErrorCode = 'SLIPWAY_RUNNER_FAILED'): SlipwayError {
  const known = json.code !== undefined && (Object.values(ErrorCodes) as string[]).includes(json.code);
  const details = { ...(json.details ?? {}), ...(known || json.code === undefined ? {} : { code: json.code }) };
  return new SlipwayError(known ? (json.code as ErrorCode) : fallback, json.message, {
    retryable: json.retryable ?? false,
    details,
    ...(json.cause === undefined ? {} : { cause: errorFromJSON(json.cause, fallback) }),
  });
}
