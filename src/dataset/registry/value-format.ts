/**
 * Value formats kept in a schema registry: `avro(schema)` (Avro binary, with avsc) and `jsonSchema(schema)`
 * (JSON text checked against a JSON Schema), each written in the Confluent wire format and registered under the
 * topic's `<topic>-value` subject (TopicNameStrategy).
 */
import type avsc from 'avsc';
import { ErrorCodes, isSlipwayError, SlipwayError } from '../../errors.js';
import { canonicalJson, compileSchema, describeErrors, type JsonSchema, toCanonicalSchema } from '../schema.js';
import { avroType } from './avro-types.js';
import type { RegisteredSchema, RegistrySchemaType, SchemaRegistryClient } from './schema-registry-client.js';
import { valueSubject } from './schema-registry-client.js';
import { decodeWire, encodeWire, WIRE_HEADER_BYTES, WIRE_MAGIC } from './wire-format.js';

/** A value format whose schema lives in a registry. */
export interface RegistryValueFormat {
  readonly kind: 'avro' | 'jsonSchema';
  readonly schemaType: RegistrySchemaType;
  /** The schema as the registry stores it (canonical JSON text). */
  readonly schemaText: string;
}

/**
 * Avro values: the record's value encoded as Avro binary with `schema` (an Avro schema object, as in an `.avsc`
 * file). Thrown: `SLIPWAY_INVALID_DEFINITION` when avsc cannot parse the schema.
 * @example avro({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }] })
 */
export function avro(schema: Record<string, unknown> | string): RegistryValueFormat {
  const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
  try {
    avroType(text);
  } catch (cause) {
    throw new SlipwayError(
      ErrorCodes.INVALID_DEFINITION,
      `the Avro schema does not parse: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  return { kind: 'avro', schemaType: 'AVRO', schemaText: text };
}

/**
 * JSON Schema values: the record's value as JSON text, checked against `schema` before it is written.
 * @example jsonSchema(Type.Object({ id: Type.String() }))
 */
export function jsonSchema(schema: JsonSchema): RegistryValueFormat {
  return { kind: 'jsonSchema', schemaType: 'JSON', schemaText: canonicalJson(toCanonicalSchema(schema)) };
}

/**
 * Encodes and decodes one topic's values in a registry format. `encode` registers the schema on first use (or
 * takes the id already registered) and writes with that id; `decode` reads the writer's schema by the record's id
 * (cached) — an Avro value written with an older compatible schema is read into the reader's schema.
 * Thrown by `decode`: `SLIPWAY_WIRE_FORMAT` (not wire format, or the payload does not decode),
 * `SLIPWAY_SCHEMA_UNKNOWN_ID` (the registry does not know the id) — a runner dead-letters such a record with the
 * error's `details.reason`; `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE` is retryable.
 */
export class RegistryCodec {
  readonly subject: string;
  private idPromise: Promise<number> | undefined;
  /** The id `schemaId()` resolved to, once it has. */
  private id: number | undefined;
  private readonly readerType: avsc.Type | undefined;
  private readonly validate: ReturnType<typeof compileSchema> | undefined;
  private readonly writerTypes = new Map<number, { type: avsc.Type; resolver: avsc.Resolver | undefined }>();
  /** Writer schemas by id, as fetched (a schema id never changes its schema). */
  private readonly writers = new Map<number, RegisteredSchema>();

  constructor(
    private readonly registry: SchemaRegistryClient,
    readonly format: RegistryValueFormat,
    readonly topic: string,
  ) {
    this.subject = valueSubject(topic);
    if (format.kind === 'avro') this.readerType = avroType(format.schemaText);
    else this.validate = compileSchema(JSON.parse(format.schemaText) as JsonSchema);
  }

  /** The id this codec writes with (registers the schema under the subject on first use). */
  schemaId(): Promise<number> {
    if (!this.idPromise) {
      this.idPromise = this.registry.register(this.subject, this.format.schemaText, this.format.schemaType);
      this.idPromise.then(
        (id) => {
          this.id = id;
        },
        () => {
          this.idPromise = undefined;
        },
      );
    }
    return this.idPromise;
  }

  async encode(value: unknown): Promise<Buffer> {
    return this.encodeWithId(await this.schemaId(), value);
  }

  /**
   * Encodes synchronously with the id `schemaId()` resolved to (await it once first). Thrown: `SLIPWAY_USAGE`
   * before that, `SLIPWAY_VALIDATION` when the value does not match the schema.
   */
  encodeNow(value: unknown): Buffer {
    if (this.id === undefined) {
      throw new SlipwayError(
        ErrorCodes.USAGE,
        `the schema of ${this.subject} is not registered yet: await schemaId() before encodeNow()`,
      );
    }
    return this.encodeWithId(this.id, value);
  }

  private encodeWithId(id: number, value: unknown): Buffer {
    if (this.readerType) {
      if (!this.readerType.isValid(value)) {
        throw new SlipwayError(ErrorCodes.VALIDATION, `the value does not match the Avro schema of ${this.subject}`, {
          details: { subject: this.subject },
        });
      }
      return encodeWire(id, this.readerType.toBuffer(value));
    }
    this.check(value);
    return encodeWire(id, Buffer.from(JSON.stringify(value)));
  }

  async decode(bytes: Uint8Array): Promise<unknown> {
    const { schemaId } = decodeWire(bytes);
    if (!this.writers.has(schemaId)) this.writers.set(schemaId, await this.registry.schemaById(schemaId));
    return this.decodeNow(bytes);
  }

  /**
   * Fetches (cached) the writer schemas the wire-format values name, so `decodeNow` can decode them. Returns the
   * ids the registry does not know (their values cannot be decoded); thrown: `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE`
   * (retryable) when the registry cannot be reached or answers with a server error.
   */
  async fetchWriterSchemas(values: ReadonlyArray<Uint8Array | null>): Promise<Set<number>> {
    const ids = new Set<number>();
    for (const v of values) {
      if (v !== null && v.length >= WIRE_HEADER_BYTES && v[0] === WIRE_MAGIC) {
        const id = Buffer.from(v.buffer, v.byteOffset, v.byteLength).readUInt32BE(1);
        if (!this.writers.has(id)) ids.add(id);
      }
    }
    const unknown = new Set<number>();
    for (const id of ids) {
      try {
        this.writers.set(id, await this.registry.schemaById(id));
      } catch (err) {
        if (isSlipwayError(err, ErrorCodes.SCHEMA_UNKNOWN_ID)) unknown.add(id);
        else throw err;
      }
    }
    return unknown;
  }

  /**
   * Decodes one wire-format value synchronously with a writer schema `fetchWriterSchemas` fetched. Thrown:
   * `SLIPWAY_WIRE_FORMAT` (not wire format, the payload does not decode), `SLIPWAY_SCHEMA_UNKNOWN_ID` (its writer
   * schema was not fetched), `SLIPWAY_VALIDATION` (a JSON value its schema rejects; not with `validate` false).
   */
  decodeNow(bytes: Uint8Array, validate = true): unknown {
    const { schemaId, payload } = decodeWire(bytes);
    const writer = this.writers.get(schemaId);
    if (writer === undefined) {
      throw new SlipwayError(
        ErrorCodes.SCHEMA_UNKNOWN_ID,
        `schema id ${schemaId} is not known to this reader of ${this.subject}: the registry does not have it`,
        { details: { reason: 'unknown-schema-id', schemaId } },
      );
    }
    if (writer.schemaType !== this.format.schemaType) {
      throw wireError(
        `schema id ${schemaId} is a ${writer.schemaType} schema; ${this.subject} is read as ${this.format.schemaType}`,
        schemaId,
      );
    }
    if (this.readerType) {
      let w = this.writerTypes.get(schemaId);
      if (!w) {
        try {
          const type = avroType(writer.schema);
          const same = type.fingerprint().equals(this.readerType.fingerprint());
          w = { type, resolver: same ? undefined : this.readerType.createResolver(type) };
        } catch (cause) {
          throw wireError(
            `the writer schema of id ${schemaId} cannot be read into the reader's schema of ${this.subject}: ${(cause as Error).message}`,
            schemaId,
            cause,
          );
        }
        this.writerTypes.set(schemaId, w);
      }
      try {
        return toPlain(this.readerType.fromBuffer(payload, w.resolver));
      } catch (cause) {
        throw wireError(
          `the Avro payload does not decode with schema id ${schemaId}: ${(cause as Error).message}`,
          schemaId,
          cause,
        );
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch (cause) {
      throw wireError(
        `the JSON payload of schema id ${schemaId} does not parse: ${(cause as Error).message}`,
        schemaId,
        cause,
      );
    }
    if (validate) this.check(value);
    return value;
  }

  private check(value: unknown): void {
    if (this.validate && !this.validate(value)) {
      throw new SlipwayError(
        ErrorCodes.VALIDATION,
        `the value does not match the JSON Schema of ${this.subject}: ${describeErrors(this.validate.errors)}`,
        { details: { subject: this.subject } },
      );
    }
  }
}

/** avsc decodes records into instances of generated classes; Slipway's records are plain objects. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Map) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
  return out;
}

function wireError(message: string, schemaId: number, cause?: unknown): SlipwayError {
  return new SlipwayError(ErrorCodes.WIRE_FORMAT, message, { cause, details: { reason: 'undecodable', schemaId } });
}

const checks = new WeakMap<RegistryValueFormat, (value: unknown) => string | undefined>();

/**
 * Why `value` does not fit the format's own schema (the Avro schema, or the JSON Schema registered), or undefined
 * when it fits. Datasets with a format check every value with it on every engine: the embedded log keeps JSON text,
 * and a value that could not be encoded on Kafka is refused the same way there.
 */
export function formatMismatch(format: RegistryValueFormat, value: unknown): string | undefined {
  let check = checks.get(format);
  if (check === undefined) {
    if (format.kind === 'avro') {
      const type = avroType(format.schemaText);
      check = (v) => {
        const wrong: string[] = [];
        if (type.isValid(v, { errorHook: (path) => wrong.push(path.join('.') || '(value)') })) return undefined;
        return `does not match its Avro schema at ${[...new Set(wrong)].join(', ')}`;
      };
    } else {
      const validate = compileSchema(JSON.parse(format.schemaText) as JsonSchema);
      check = (v) =>
        validate(v) ? undefined : `does not match its registered JSON Schema: ${describeErrors(validate.errors)}`;
    }
    checks.set(format, check);
  }
  return check(value);
}
