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
  /** Thrown when a log opened only to be read (`mustExist`) does not exist. Nothing was created. */
  LOG_NOT_FOUND: 'SLIPWAY_LOG_NOT_FOUND',
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
  /** Thrown when the Kafka cluster refuses the connection at authentication (SASL user or password, mechanism) or at the TLS handshake (an untrusted certificate, a wrong key password). */
  KAFKA_AUTH_FAILED: 'SLIPWAY_KAFKA_AUTH_FAILED',
  /**
   * Thrown when an ACL is missing for what the log asked Kafka to do; `details.resourceType` is `topic`, `group`,
   * `transactional-id` or `cluster`, `details.operation` what was refused (naming the topic, group or owner).
   */
  KAFKA_NOT_AUTHORIZED: 'SLIPWAY_KAFKA_NOT_AUTHORIZED',
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
  /** Thrown when a deployment is refused by the release gate: the artifact has no passing test report (`slipway test --artifact <digest>`), or its latest report failed. */
  RELEASE_GATE: 'SLIPWAY_RELEASE_GATE',
  /**
   * Thrown when an error without a Slipway code (a bug, or a library's own error) reached a caller across
   * the HTTP API; `details.code` keeps its original code, if it had one. Report it with the message.
   */
  INTERNAL: 'SLIPWAY_INTERNAL',
  /** Thrown when a command would run a pipeline that a control plane runs on the same log (it would fence the live runner); the message names the control plane and the release. */
  MANAGED: 'SLIPWAY_MANAGED',
  /** Thrown when `slipway test` cannot show that the tests exercised exactly the artifact's code: the sources under test do not rebuild to its digest (or changed while the tests ran). No report is recorded. */
  TEST_BINDING: 'SLIPWAY_TEST_BINDING',
  /** Thrown when a replay of dead letters (`slipway dlq replay`) selects nothing left to replay: none match, or a replay took care of them already. */
  NOTHING_TO_REPLAY: 'SLIPWAY_NOTHING_TO_REPLAY',
  /** Thrown when the control plane refuses a request from where it came (a change from another machine, until the API has tokens and roles). */
  FORBIDDEN: 'SLIPWAY_FORBIDDEN',
  /** Thrown when a command names an environment (or workspace) the project does not declare; the message lists those it does. */
  UNKNOWN_ENVIRONMENT: 'SLIPWAY_UNKNOWN_ENVIRONMENT',
  /** Thrown when a runner cannot resolve a secret reference at start (an unset environment variable, an unreadable file); the message names the reference, never a value. */
  SECRET_MISSING: 'SLIPWAY_SECRET_MISSING',
  /** Thrown when a promotion is refused; `details.reason` says why: `not-verified`, `soaking`, `approval-missing`, `untested`, `config-invalid`, `no-previous`. */
  PROMOTION_REFUSED: 'SLIPWAY_PROMOTION_REFUSED',
  /** Thrown when the project's workspace list (`.slipway/workspaces.json`) cannot be read: not JSON, or an entry without its base or prefix. */
  WORKSPACE_FILE: 'SLIPWAY_WORKSPACE_FILE',
  /** Thrown when `slipway workspace down` (or `--env`) names a workspace the project has not made; the message lists those it has. */
  WORKSPACE_NOT_FOUND: 'SLIPWAY_WORKSPACE_NOT_FOUND',
  /** Thrown when `slipway workspace up` finds topics or a registry of the same prefix on the log that this project did not record: someone else's workspace, or one made from another clone (`--adopt` takes it over). */
  WORKSPACE_TAKEN: 'SLIPWAY_WORKSPACE_TAKEN',
  /** Thrown when `slipway env apply` would make a change that loses records (delete a topic, shorten an enforced retention) without `--allow-destructive`; nothing was changed. `details.changes` lists them. */
  DESTRUCTIVE_CHANGE: 'SLIPWAY_DESTRUCTIVE_CHANGE',
  /** Thrown when a version already names something else: a dataset version with another schema, or a pipeline version with another digest (`slipway build`, `slipway datasets check`). The message suggests the version to use. */
  VERSION_NOT_BUMPED: 'SLIPWAY_VERSION_NOT_BUMPED',
  /** Thrown when a dataset's version bump does not fit its schema change: a patch that changes the schema, or a minor that is not compatible under the dataset's mode; `details.problems` lists each incompatibility with its path, change, whom it breaks and a fix. */
  WRONG_BUMP: 'SLIPWAY_WRONG_BUMP',
  /** Thrown when a deployment would make a reader read records it cannot read: the producers of a dataset in the environment write a version outside the reader's range, or one whose schema the reader's refuses. */
  READER_INCOMPATIBLE: 'SLIPWAY_READER_INCOMPATIBLE',
  /** Thrown when a dataset or dataset version is not in the registry (`slipway datasets show`, `diff`, `retire`), or a datasets module exports no dataset of the major `slipway datasets migrate --to` names (the generated bridge module throws it). */
  DATASET_NOT_FOUND: 'SLIPWAY_DATASET_NOT_FOUND',
  /** Thrown when a dataset major cannot be retired because a released pipeline still reads or writes it; the message names them. */
  DATASET_IN_USE: 'SLIPWAY_DATASET_IN_USE',
  /** Thrown when a secret scan (`slipway secrets scan`, a hook, `slipway build`'s scan of the bundle) finds a secret not allowed by fingerprint; `details.findings` lists them. */
  SECRETS_FOUND: 'SLIPWAY_SECRETS_FOUND',
  /** Thrown when the secrets allow file (`secrets-allow.json`) is not JSON or an entry lacks its fingerprint or reason. */
  SECRETS_ALLOW_INVALID: 'SLIPWAY_SECRETS_ALLOW_INVALID',
  /** Thrown when `slipway build` finds type errors in the pipeline (or cannot find TypeScript to check a .ts pipeline); the message lists them. */
  TYPECHECK_FAILED: 'SLIPWAY_TYPECHECK_FAILED',
  /** Thrown when `slipway init` would overwrite files of an existing project, or `slipway ci generate` finds a workflow it cannot merge. */
  SCAFFOLD_CONFLICT: 'SLIPWAY_SCAFFOLD_CONFLICT',
  /** Thrown when `slipway ci guard` cannot run: not a git repository, no green commit to start from, or a git command failed. */
  GUARD_FAILED: 'SLIPWAY_GUARD_FAILED',
  /** Thrown when a toggle change or setting is malformed (a bad name, share, rule or variant); `details.field` names what. */
  INVALID_TOGGLE: 'SLIPWAY_INVALID_TOGGLE',
  /** Thrown when a toggle is read (`ctx.toggle`, a command, the OpenFeature provider) that is not declared where it is read. */
  UNKNOWN_TOGGLE: 'SLIPWAY_UNKNOWN_TOGGLE',
  /** Thrown when a progressive toggle rollout failed a gate and set the toggle back; `details.gate` names it. */
  TOGGLE_ROLLED_BACK: 'SLIPWAY_TOGGLE_ROLLED_BACK',
  /** Thrown when a datastore (PostgreSQL) cannot be reached or drops the connection (retryable). */
  DATASTORE_UNAVAILABLE: 'SLIPWAY_DATASTORE_UNAVAILABLE',
  /** Thrown when a table or a command names a datastore the environment does not declare (`datastores` in slipway.config.ts); the message lists those it declares. */
  DATASTORE_NOT_DECLARED: 'SLIPWAY_DATASTORE_NOT_DECLARED',
  /** Thrown when a table's migration step was changed after it was applied (its checksum differs from the ledger's): add a new step instead. `details.steps` lists them. Nothing was changed. */
  MIGRATION_EDITED: 'SLIPWAY_MIGRATION_EDITED',
  /** Thrown when a migration step fails in the database; the table's whole apply was rolled back. `details` names the table, version and statement. */
  MIGRATION_FAILED: 'SLIPWAY_MIGRATION_FAILED',
  /** Thrown when `slipway datastores down` would undo a step that has no `down`; nothing was changed. */
  MIGRATION_IRREVERSIBLE: 'SLIPWAY_MIGRATION_IRREVERSIBLE',
  /** Thrown when a deployment's new version needs a destructive migration that the live version cannot run with: split it into expand (deploy) and contract (after the old version is retired). Nothing was started. */
  MIGRATION_BLOCKS_DEPLOY: 'SLIPWAY_MIGRATION_BLOCKS_DEPLOY',
  /** Thrown when a state migration's `up` or `down` threw for a key; `details` name the key and partition. Nothing was committed. */
  STATE_MIGRATION_FAILED: 'SLIPWAY_STATE_MIGRATION_FAILED',
  /** Thrown when a pipeline's stateVersion differs from the state it finds (or the live version's) and it declares no migration from it. */
  STATE_MIGRATION_MISSING: 'SLIPWAY_STATE_MIGRATION_MISSING',
  /** Thrown when a deployment migrates state with no `down` (a rollback could not undo it) and is not allowed with `irreversibleState`. */
  STATE_IRREVERSIBLE: 'SLIPWAY_STATE_IRREVERSIBLE',
  /**
   * Thrown when a pipeline declares a table sink and topic outputs together: the rows and the records could not be
   * committed in one transaction, so it would not be exactly once. Route the topic to a sink pipeline instead.
   */
  SINK_WITH_TOPICS: 'SLIPWAY_SINK_WITH_TOPICS',
  /** Thrown when a sink's table refuses a batch of rows (a type, a NOT NULL, an append of a key already there). */
  SINK_REJECTED: 'SLIPWAY_SINK_REJECTED',
  /** Thrown when the schema registry cannot be reached or answers with a server error (retryable). */
  SCHEMA_REGISTRY_UNAVAILABLE: 'SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE',
  /** Thrown when the schema registry refuses a request (a malformed schema, a subject it does not know). */
  SCHEMA_REGISTRY_REFUSED: 'SLIPWAY_SCHEMA_REGISTRY_REFUSED',
  /** Thrown when the registry finds a dataset's new value schema incompatible with the latest one of its subject. Nothing was registered. */
  SCHEMA_INCOMPATIBLE: 'SLIPWAY_SCHEMA_INCOMPATIBLE',
  /** Thrown when a record's value names a schema id that the registry does not know; a runner dead-letters the record. */
  SCHEMA_UNKNOWN_ID: 'SLIPWAY_SCHEMA_UNKNOWN_ID',
  /** Thrown when a record's value is not in the Confluent wire format (magic byte 0, 4-byte schema id) or does not decode with its schema. */
  WIRE_FORMAT: 'SLIPWAY_WIRE_FORMAT',
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

/**
 * An error as it crosses a process or the network (the runner IPC, the HTTP API): plain JSON that
 * {@link errorFromJSON} turns back into a {@link SlipwayError} with the same code and retryable flag.
 */
export interface ErrorJSON {
  /** The `SLIPWAY_*` code; for another error, its own `code` (`ECONNREFUSED`) when it has one. */
  code?: string;
  message: string;
  /** The error class's name (`SlipwayError`, `TypeError`), when the value was an Error. */
  name?: string;
  /** Set for every SlipwayError; absent for other errors (not retryable). */
  retryable?: boolean;
  /** Left out when empty; values JSON cannot hold are replaced by their text. */
  details?: Record<string, unknown>;
  cause?: ErrorJSON;
}

/** Causes deeper than this are cut: a chain that long is a loop or says nothing more. */
const MAX_CAUSE_DEPTH = 8;

/**
 * Any thrown value as an {@link ErrorJSON}, safe to `JSON.stringify`: a SlipwayError keeps its code,
 * message, retryable flag and details; any Error its name, message and code; the `cause` chain follows
 * (cut at 8 levels or at a cycle). A value that is not an error becomes its text as the message.
 *
 * @example
 * process.send({ reply: id, ok: false, error: errorToJSON(err) })
 */
export function errorToJSON(err: unknown): ErrorJSON {
  return toJSON(err, new Set(), 0);
}

function toJSON(err: unknown, seen: Set<unknown>, depth: number): ErrorJSON {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { name?: unknown; code?: unknown; message?: unknown; retryable?: unknown; details?: unknown };
  if (!(err instanceof Error) && typeof e.message !== 'string') return { message: safeText(err) };
  seen.add(err);
  const json: ErrorJSON = { message: typeof e.message === 'string' ? e.message : String(e.message) };
  if (typeof e.name === 'string') json.name = e.name;
  if (typeof e.code === 'string' || typeof e.code === 'number') json.code = String(e.code);
  if (isSlipwayError(err)) json.retryable = e.retryable === true;
  const details = jsonSafeRecord(e.details);
  if (details !== undefined) json.details = details;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && !seen.has(cause) && depth < MAX_CAUSE_DEPTH) json.cause = toJSON(cause, seen, depth + 1);
  // Key order as the reader expects it: name, code, message, retryable, details, cause.
  return {
    ...(json.name === undefined ? {} : { name: json.name }),
    ...(json.code === undefined ? {} : { code: json.code }),
    message: json.message,
    ...(json.retryable === undefined ? {} : { retryable: json.retryable }),
    ...(json.details === undefined ? {} : { details: json.details }),
    ...(json.cause === undefined ? {} : { cause: json.cause }),
  };
}

/** The value's JSON text, or `String(value)` when JSON cannot hold it. */
function safeText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A copy of `details` that JSON can hold (each value JSON cannot hold becomes its text), or undefined when empty. */
function jsonSafeRecord(details: unknown): Record<string, unknown> | undefined {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined) continue;
    try {
      const text = JSON.stringify(value);
      if (text !== undefined) out[key] = JSON.parse(text);
    } catch {
      out[key] = String(value);
    }
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/**
 * The SlipwayError an {@link ErrorJSON} describes: the same code, message, retryable flag and details,
 * and its cause chain (a cause with a Slipway code as a SlipwayError, any other as an Error with its
 * `code`). A code that is not Slipway's, or none, becomes `fallback` — `SLIPWAY_RUNNER_FAILED` unless
 * stated (the HTTP client states `SLIPWAY_INTERNAL`) — with the original code and error name kept in
 * `details.code` and `details.name`. Reads anything: a body that is not an ErrorJSON still gives an error.
 *
 * @example
 * if (!msg.ok) pending.reject(errorFromJSON(msg.error))
 */
export function errorFromJSON(json: unknown, fallback: ErrorCode = 'SLIPWAY_RUNNER_FAILED'): SlipwayError {
  return fromJSON(json, fallback, 0) as SlipwayError;
}

function fromJSON(json: unknown, fallback: ErrorCode, depth: number, asCause = false): Error {
  const j = (typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {}) as Record<string, unknown>;
  const message = typeof j.message === 'string' ? j.message : json === undefined ? 'unknown error' : safeText(json);
  const code = typeof j.code === 'string' ? j.code : undefined;
  const name = typeof j.name === 'string' ? j.name : undefined;
  const cause =
    j.cause !== undefined && depth < MAX_CAUSE_DEPTH ? fromJSON(j.cause, fallback, depth + 1, true) : undefined;
  const known = code !== undefined && KNOWN_CODES.has(code);
  if (asCause && !known) {
    const err = new Error(message, cause === undefined ? undefined : { cause });
    if (name !== undefined) err.name = name;
    if (code !== undefined) Object.assign(err, { code });
    return err;
  }
  const details: Record<string, unknown> = { ...(jsonSafeRecord(j.details) ?? {}) };
  if (!known) {
    if (code !== undefined) details.code = code;
    if (name !== undefined && name !== 'Error' && name !== 'SlipwayError') details.name = name;
  }
  return new SlipwayError(known ? (code as ErrorCode) : fallback, message, {
    retryable: j.retryable === true,
    details,
    ...(cause === undefined ? {} : { cause }),
  });
}
