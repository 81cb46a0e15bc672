/**
 * Generators for the fields an Avro registry format constrains beyond the dataset's JSON Schema. A dataset declares
 * Avro's `bytes` and `fixed` (base64 text), the `decimal` logical type (the exact decimal as text with the schema's
 * scale) and `enum` (a symbol) as `Type.String()`, and its checks include the Avro schema's: values made from the
 * JSON Schema alone would be refused. `sample synth` makes those fields from the Avro schema instead, at the field
 * paths of `GeneratorShape` (`a.b`, `a[]`).
 */
import type { GeneratorShape, ValueGenerator } from '../dataset/generate.js';
import type { JsonSchema } from '../dataset/schema.js';

/** One field's generator; `strict` ones (an encoding) win over a sample's shape, an enum's symbols do not. */
interface AvroField {
  make: ValueGenerator;
  strict: boolean;
  /** An Avro union with `null`: null now and then, where the dataset's schema allows it. */
  nullable: boolean;
}

type Node = Record<string, unknown>;

/** The generators of an Avro schema's (its JSON text) bytes, fixed, decimal and enum fields, by field path. */
export function avroFieldGenerators(schemaText: string): Map<string, AvroField> {
  const fields = new Map<string, AvroField>();
  const named = new Map<string, Node>();
  const walk = (schema: unknown, path: string, namespace: string, nullable: boolean, depth: number): void => {
    // A record that contains itself (a tree) is followed a few levels deep: generated values are that shallow too.
    if (depth > 8) return;
    if (typeof schema === 'string') {
      const type = named.get(schema) ?? named.get(`${namespace}.${schema}`);
      if (type !== undefined) walk(type, path, namespace, nullable, depth + 1);
      else if (schema === 'bytes') add(path, { make: bytes(undefined), strict: true, nullable });
      return;
    }
    if (Array.isArray(schema)) {
      const withNull = schema.includes('null');
      for (const branch of schema) if (branch !== 'null') walk(branch, path, namespace, nullable || withNull, depth);
      return;
    }
    if (typeof schema !== 'object' || schema === null) return;
    const node = schema as Node;
    const type = node.type;
    if (typeof node.name === 'string' && ['record', 'error', 'enum', 'fixed'].includes(type as string)) {
      const ns = typeof node.namespace === 'string' ? node.namespace : namespace;
      const full = node.name.includes('.') ? node.name : ns === '' ? node.name : `${ns}.${node.name}`;
      named.set(full, node);
      named.set(node.name, node);
    }
    const decimal = node.logicalType === 'decimal';
    switch (type) {
      case 'record':
      case 'error': {
        const ns = typeof node.namespace === 'string' ? node.namespace : namespace;
        for (const f of (node.fields ?? []) as Node[])
          walk(f.type, path === '' ? String(f.name) : `${path}.${String(f.name)}`, ns, false, depth + 1);
        return;
      }
      case 'array':
        walk(node.items, `${path}[]`, namespace, false, depth + 1);
        return;
      case 'enum':
        add(path, { make: oneOf(node.symbols as string[]), strict: false, nullable });
        return;
      case 'fixed':
      case 'bytes': {
        const size = type === 'fixed' ? (node.size as number) : undefined;
        const make = decimal ? decimalText(node.precision as number, (node.scale as number) ?? 0, size) : bytes(size);
        add(path, { make, strict: true, nullable });
        return;
      }
      default:
        // `{ "type": "bytes" }` written out, or a type nested in `type`.
        if (typeof type === 'object' || (typeof type === 'string' && !decimal))
          walk(type, path, namespace, nullable, depth);
    }
  };
  const add = (path: string, field: AvroField): void => {
    if (path !== '' && !fields.has(path)) fields.set(path, field);
  };
  walk(JSON.parse(schemaText), '', '', false, 0);
  return fields;
}

/** `shape` with the Avro format's fields made from its schema (see {@link avroFieldGenerators}). */
export function withAvroFields(shape: GeneratorShape, fields: ReadonlyMap<string, AvroField>): GeneratorShape {
  if (fields.size === 0) return shape;
  return {
    ...shape,
    value(path, schema, fallback) {
      const field = fields.get(path);
      const shaped = shape.value?.(path, schema, fallback);
      if (field === undefined) return shaped;
      const make = field.strict || shaped === undefined ? field.make : shaped;
      if (!field.nullable || !allowsNull(schema)) return make;
      return (random) => (random() < 0.2 ? null : make(random));
    },
  };
}

function allowsNull(schema: JsonSchema): boolean {
  const type = schema.type;
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true;
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(union) && union.some(allowsNull);
}

/** Base64 text of `size` random bytes (0–16 when not fixed). */
function bytes(size: number | undefined): ValueGenerator {
  return (random) => {
    const out = Buffer.alloc(size ?? Math.floor(random() * 17));
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
    return out.toString('base64');
  };
}

/** An exact decimal with `scale` digits after the point, within the precision (and what `size` bytes hold). */
function decimalText(precision: number, scale: number, size: number | undefined): ValueGenerator {
  let digits = Number.isInteger(precision) && precision > 0 ? precision : 10;
  // A two's complement of `size` bytes holds floor((8 × size − 1) × log10 2) digits for sure.
  if (size !== undefined) digits = Math.min(digits, Math.floor((8 * size - 1) * Math.LOG10E * Math.LN2));
  digits = Math.max(1, digits);
  return (random) => {
    const n = 1 + Math.floor(random() * digits);
    let text = String(1 + Math.floor(random() * 9));
    for (let i = 1; i < n; i++) text += String(Math.floor(random() * 10));
    if (scale > 0) {
      text = text.padStart(scale + 1, '0');
      text = `${text.slice(0, -scale)}.${text.slice(-scale)}`;
    }
    return random() < 0.1 ? `-${text}` : text;
  };
}

function oneOf(symbols: readonly string[]): ValueGenerator {
  return (random) => symbols[Math.floor(random() * symbols.length)];
}
