/**
 * A client of a Confluent-compatible schema registry (Confluent Schema Registry, Apicurio's `/apis/ccompat/v7`,
 * Redpanda's): registers value schemas, checks a new schema's compatibility with a subject's latest one, and
 * fetches writer schemas by id (cached: a schema id never changes its schema).
 */
import { ErrorCodes, SlipwayError } from '../../errors.js';

/** The schema types of the registry's API that Slipway writes. */
export type RegistrySchemaType = 'AVRO' | 'JSON';

export interface SchemaRegistryOptions {
  /** Base URL of the Confluent-compatible API, e.g. `http://127.0.0.1:8081` or `http://host/apis/ccompat/v7`. */
  url: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** HTTP basic authentication (Confluent Cloud: the API key and secret), the password resolved. */
  username?: string;
  password?: string;
}

/** A schema as the registry holds it. */
export interface RegisteredSchema {
  schemaType: RegistrySchemaType;
  /** The schema text (Avro JSON or JSON Schema JSON). */
  schema: string;
}

/** The registry's answer to a compatibility check. */
export interface CompatibilityAnswer {
  compatible: boolean;
  /** False when the subject has no version yet (anything is compatible then). */
  subjectExists: boolean;
  /** The registry's reasons, when it gives them. */
  messages: string[];
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** The subject of a topic's values under the TopicNameStrategy: `<topic>-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * @example
 * const registry = new SchemaRegistryClient({ url: process.env.SCHEMA_REGISTRY_URL! })
 * const id = await registry.register('orders.v1-value', JSON.stringify(avroSchema), 'AVRO')
 */
export class SchemaRegistryClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly authorization: string | undefined;
  private readonly username: string | undefined;
  private readonly byId = new Map<number, Promise<RegisteredSchema>>();

  constructor(options: SchemaRegistryOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.username = options.username;
    this.authorization =
      options.username === undefined
        ? undefined
        : `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  }

  /** Registers `schema` under `subject` (or finds it there) and returns its id. */
  async register(subject: string, schema: string, schemaType: RegistrySchemaType): Promise<number> {
    const { status, body } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schema,
      schemaType,
    });
    if (status === 409) throw incompatible(subject, [String(body.message ?? '')]);
    if (status !== 200 || typeof body.id !== 'number')
      throw this.refused(`registering a schema under ${subject}`, status, body);
    return body.id;
  }

  /** Asks the registry whether `schema` is compatible with the latest version of `subject`, under its level. */
  async checkCompatibility(
    subject: string,
    schema: string,
    schemaType: RegistrySchemaType,
  ): Promise<CompatibilityAnswer> {
    const { status, body } = await this.call(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
      { schema, schemaType },
    );
    // 40401 subject not found, 40402 version not found: no version to be compatible with.
    if (status === 404 && (body.error_code === 40401 || body.error_code === 40402)) {
      return { compatible: true, subjectExists: false, messages: [] };
    }
    if (status !== 200 || typeof body.is_compatible !== 'boolean') {
      throw this.refused(`checking compatibility under ${subject}`, status, body);
    }
    const messages = Array.isArray(body.messages)
      ? body.messages.map(String)
      : body.reason
        ? [String(body.reason)]
        : [];
    return { compatible: body.is_compatible, subjectExists: true, messages };
  }

  /**
   * Checks compatibility and throws `SLIPWAY_SCHEMA_INCOMPATIBLE` (naming the subject and the registry's reasons)
   * when the registry refuses the schema. Registers nothing.
   */
  async assertCompatible(subject: string, schema: string, schemaType: RegistrySchemaType): Promise<void> {
    const answer = await this.checkCompatibility(subject, schema, schemaType);
    if (!answer.compatible) throw incompatible(subject, answer.messages);
  }

  /** The latest version registered under `subject` (its id and schema), or undefined when the subject has none. */
  async latest(subject: string): Promise<(RegisteredSchema & { id: number; version: number }) | undefined> {
    const { status, body } = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`);
    if (status === 404) return undefined;
    if (status !== 200 || typeof body.schema !== 'string' || typeof body.id !== 'number') {
      throw this.refused(`reading the latest schema of ${subject}`, status, body);
    }
    const schemaType: RegistrySchemaType = body.schemaType === 'JSON' ? 'JSON' : 'AVRO';
    return { schemaType, schema: body.schema, id: body.id, version: Number(body.version) };
  }

  /** The schema of `id` (cached). Thrown: `SLIPWAY_SCHEMA_UNKNOWN_ID` when the registry does not know it. */
  schemaById(id: number): Promise<RegisteredSchema> {
    let found = this.byId.get(id);
    if (!found) {
      found = this.fetchById(id);
      this.byId.set(id, found);
      // A failure is not cached: the next record asks again.
      found.catch(() => this.byId.delete(id));
    }
    return found;
  }

  private async fetchById(id: number): Promise<RegisteredSchema> {
    const { status, body } = await this.call('GET', `/schemas/ids/${id}`);
    if (status === 404) {
      throw new SlipwayError(
        ErrorCodes.SCHEMA_UNKNOWN_ID,
        `schema id ${id} is not in the registry at ${this.url}: the record was written against another registry, or its schema was deleted`,
        { details: { reason: 'unknown-schema-id', schemaId: id } },
      );
    }
    if (status !== 200 || typeof body.schema !== 'string') throw this.refused(`reading schema id ${id}`, status, body);
    const schemaType: RegistrySchemaType = body.schemaType === 'JSON' ? 'JSON' : 'AVRO';
    return { schemaType, schema: body.schema };
  }

  private async call(
    method: string,
    path: string,
    json?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          accept: CONTENT_TYPE,
          ...(json === undefined ? {} : { 'content-type': CONTENT_TYPE }),
          ...(this.authorization === undefined ? {} : { authorization: this.authorization }),
        },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new SlipwayError(
        ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE,
        `the schema registry at ${this.url} cannot be reached (${(cause as Error).message}): check the URL and that it runs`,
        { retryable: true, cause },
      );
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { message: text.slice(0, 500) };
    }
    if (res.status >= 500) {
      throw new SlipwayError(
        ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE,
        `the schema registry at ${this.url} answered ${method} ${path} with HTTP ${res.status}: ${String(body.message ?? text).slice(0, 300)}`,
        { retryable: true, details: { status: res.status } },
      );
    }
    return { status: res.status, body };
  }

  private refused(what: string, status: number, body: Record<string, unknown>): SlipwayError {
    if (status === 401 || status === 403) {
      const who =
        this.username === undefined
          ? 'no credentials were sent'
          : `the credentials of user '${this.username}' were sent`;
      return new SlipwayError(
        ErrorCodes.SCHEMA_REGISTRY_REFUSED,
        `the schema registry at ${this.url} refused ${what}: HTTP ${status} ${status === 401 ? 'unauthorized' : 'forbidden'} (${who}). Set the environment's schemaRegistry.username and its password (a secret reference), or SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD where there is no environment, and give that user read access to the input subjects and write access to the output subjects.`,
        {
          details: {
            status,
            errorCode: body.error_code,
            ...(this.username === undefined ? {} : { username: this.username }),
          },
        },
      );
    }
    return new SlipwayError(
      ErrorCodes.SCHEMA_REGISTRY_REFUSED,
      `the schema registry at ${this.url} refused ${what}: HTTP ${status} ${String(body.message ?? '')} (error_code ${String(body.error_code ?? '-')})`,
      { details: { status, errorCode: body.error_code } },
    );
  }
}

function incompatible(subject: string, messages: string[]): SlipwayError {
  const why = messages.filter((m) => m !== '' && m !== 'null');
  return new SlipwayError(
    ErrorCodes.SCHEMA_INCOMPATIBLE,
    `the new value schema of subject ${subject} is incompatible with its latest registered version${why.length ? `: ${why.join('; ')}` : ''}. Make the change compatible (add fields with defaults, do not change types) or publish a new major version (a new topic).`,
    { details: { subject, messages: why } },
  );
}
