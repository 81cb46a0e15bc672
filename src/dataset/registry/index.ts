export {
  checkRegistryCompatibility,
  checkRegistryInputs,
  type RegistryCheckedDataset,
  type RegistryCheckResult,
} from './registry-check.js';
export {
  type CompatibilityAnswer,
  type RegisteredSchema,
  type RegistrySchemaType,
  SchemaRegistryClient,
  type SchemaRegistryOptions,
  valueSubject,
} from './schema-registry-client.js';
export { avro, formatMismatch, jsonSchema, RegistryCodec, type RegistryValueFormat } from './value-format.js';
export { decodeWire, encodeWire, WIRE_HEADER_BYTES, WIRE_MAGIC, type WireValue } from './wire-format.js';
