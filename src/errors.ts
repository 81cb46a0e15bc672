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
