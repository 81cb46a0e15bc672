/**
 * Value formats kept in a schema registry: `avro(schema)` (Avro binary, with avsc) and `jsonSchema(schema)`
 * (JSON text checked against a JSON Schema), each written in the Confluent wire format and registered under the
 * topic's `<topic>-value` subject (TopicNameStrategy).
 */
import avsc from 'avsc';
import { ErrorCodes, SlipwayError } from '../../errors.js';
import { canonicalJson, compileSchema, describeErrors, type JsonSchema, toCanonicalSchema } from '../schema.js';
import type { RegistrySchemaType, SchemaRegistryClient } from './schema-registry-client.js';
import { valueSubject } from './schema-registry-client.js';
import { decodeWire, encodeWire } from './wire-format.js';

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
    avsc.Type.forSchema(JSON.parse(text));
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
  private readonly readerType: avsc.Type | undefined;
  private readonly validate: ReturnType<typeof compileSchema> | undefined;
  private readonly writerTypes = new Map<number, { type: avsc.Type; resolver: avsc.Resolver | undefined }>();

  constructor(
    private readonly registry: SchemaRegistryClient,
    readonly format: RegistryValueFormat,
    readonly topic: string,
  ) {
    this.subject = valueSubject(topic);
    if (format.kind === 'avro') this.readerType = avsc.Type.forSchema(JSON.parse(format.schemaText));
    else this.validate = compileSchema(JSON.parse(format.schemaText) as JsonSchema);
  }

  /** The id this codec writes with (registers the schema under the subject on first use). */
  schemaId(): Promise<number> {
    if (!this.idPromise) {
      this.idPromise = this.registry.register(this.subject, this.format.schemaText, this.format.schemaType);
      this.idPromise.catch(() => {
        this.idPromise = undefined;
      });
    }
    return this.idPromise;
  }

  async encode(value: unknown): Promise<Buffer> {
    const id = await this.schemaId();
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
    const { schemaId, payload } = decodeWire(bytes);
    const writer = await this.registry.schemaById(schemaId);
    if (writer.schemaType !== this.format.schemaType) {
      throw wireError(
        `schema id ${schemaId} is a ${writer.schemaType} schema; ${this.subject} is read as ${this.format.schemaType}`,
        schemaId,
      );
    }
    if (this.readerType) {
      let w = this.writerTypes.get(schemaId);
      if (!w) {
        const type = avsc.Type.forSchema(JSON.parse(writer.schema));
        const same = type.fingerprint().equals(this.readerType.fingerprint());
        w = { type, resolver: same ? undefined : this.readerType.createResolver(type) };
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
    this.check(value);
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
