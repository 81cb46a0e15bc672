/**
 * Generators for the fields an Avro registry format constrains beyond the dataset's JSON Schema. A dataset declares
 * Avro's `bytes` and `fixed` (base64 text), the `decimal` logical type (the exact decimal as text with the schema's
 * scale) and `enum` (a symbol) as `Type.String()`, and its checks include the Avro schema's: values made from the
 * JSON Schema alone would be refused. `sample synth` makes those fields from the Avro schema instead: each field path
 * the generator asks for (`a.b`, `a[]`, as in `GeneratorShape`) is followed through the Avro schema (records, arrays,
 * unions, named types by Avro's name resolution), however deep or recursive.
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
/** A schema and the namespace its names are resolved in. */
type Scoped = { schema: unknown; ns: string };

const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

/** Finds the Avro field generator for a field path of an Avro schema (its JSON text); undefined: none needed. */
export function avroFieldResolver(schemaText: string): (path: string) => AvroField | undefined {
  const root = JSON.parse(schemaText) as unknown;
  // Every named type by its full name, with the namespace its own references resolve in.
  const named = new Map<string, Scoped>();
  const collect = (schema: unknown, ns: string): void => {
    if (Array.isArray(schema)) for (const branch of schema) collect(branch, ns);
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
    const node = schema as Node;
    let inner = ns;
    if (NAMED.has(node.type as string) && typeof node.name === 'string') {
      const full = definedName(node, ns);
      inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
      named.set(full, { schema: node, ns: inner });
    }
    for (const f of (node.fields ?? []) as Node[]) collect(f.type, inner);
    collect(node.items, inner);
    collect(node.values, inner);
    if (typeof node.type === 'object') collect(node.type, inner);
  };
  collect(root, '');

  /** The schema itself (a named type's definition for its name), with the namespace that goes with it. */
  const deref = (s: Scoped): Scoped => {
    if (typeof s.schema === 'string') {
      const found = (s.ns === '' ? undefined : named.get(`${s.ns}.${s.schema}`)) ?? named.get(s.schema);
      if (found !== undefined) return found;
    }
    if (typeof s.schema === 'object' && s.schema !== null && !Array.isArray(s.schema)) {
      const node = s.schema as Node;
      if (
        typeof node.type === 'object' ||
        (typeof node.type === 'string' &&
          node.logicalType === undefined &&
          !NAMED.has(node.type) &&
          !['array', 'map'].includes(node.type))
      )
        return deref({ schema: node.type, ns: s.ns });
      if (NAMED.has(node.type as string) && typeof node.name === 'string')
        return named.get(definedName(node, s.ns)) ?? s;
    }
    return s;
  };
  /** The non-null branches of a union (or the schema alone), dereferenced; whether null was one of them. */
  const branches = (s: Scoped): { types: Scoped[]; nullable: boolean } => {
    const d = deref(s);
    if (!Array.isArray(d.schema)) return { types: [d], nullable: false };
    const types: Scoped[] = [];
    let nullable = false;
    for (const b of d.schema) {
      const t = deref({ schema: b, ns: d.ns });
      if (t.schema === 'null' || (t.schema as Node | null)?.type === 'null') nullable = true;
      else types.push(t);
    }
    return { types, nullable };
  };
  const step = (s: Scoped, segment: string): Scoped | undefined => {
    for (const t of branches(s).types) {
      const node = t.schema as Node;
      if (typeof node !== 'object' || node === null) continue;
      if (segment === '[]' && node.type === 'array') return { schema: node.items, ns: t.ns };
      if (segment !== '[]' && (node.type === 'record' || node.type === 'error')) {
        const field = ((node.fields ?? []) as Node[]).find((f) => f.name === segment);
        if (field !== undefined) return { schema: field.type, ns: t.ns };
      }
    }
    return undefined;
  };
  const cache = new Map<string, AvroField | undefined>();
  return (path) => {
    if (cache.has(path)) return cache.get(path);
    let at: Scoped | undefined = { schema: root, ns: '' };
    for (const segment of path.split(/\.|(?=\[\])/)) {
      if (at === undefined || segment === '') break;
      at = step(at, segment);
    }
    const field = at === undefined ? undefined : leaf(branches(at));
    cache.set(path, field);
    return field;
  };
}

/** The generator of a field whose type (its union's non-null branches) is bytes, fixed, a decimal or an enum. */
function leaf({ types, nullable }: { types: Scoped[]; nullable: boolean }): AvroField | undefined {
  for (const t of types) {
    const node: Node = typeof t.schema === 'string' ? { type: t.schema } : (t.schema as Node);
    if (typeof node !== 'object' || node === null) continue;
    const decimal = node.logicalType === 'decimal';
    if (node.type === 'bytes' || node.type === 'fixed') {
      const size = node.type === 'fixed' ? (node.size as number) : undefined;
      const make = decimal ? decimalText(node.precision as number, (node.scale as number) ?? 0, size) : bytes(size);
      return { make, strict: true, nullable };
    }
    if (node.type === 'enum' && Array.isArray(node.symbols))
      return { make: oneOf(node.symbols), strict: false, nullable };
  }
  return undefined;
}

/** The full name of a named type defined in namespace `ns` (a dotted name is full; else its own namespace, else `ns`). */
function definedName(node: Node, ns: string): string {
  const name = node.name as string;
  const space = typeof node.namespace === 'string' ? node.namespace : ns;
  return name.includes('.') || space === '' ? name : `${space}.${name}`;
}

/** `shape` with an Avro format's fields made from its schema (see {@link avroFieldResolver}). */
export function withAvroFields(
  shape: GeneratorShape,
  fieldAt: (path: string) => AvroField | undefined,
): GeneratorShape {
  return {
    ...shape,
    value(path, schema, fallback) {
      const field = fieldAt(path);
      // A JSON Schema that already names the values (an enum, a const) keeps them: they are narrower than the symbols.
      if (field === undefined || (!field.strict && namesValues(schema))) return shape.value?.(path, schema, fallback);
      // A sample's shares shape an enum; what they leave to chance comes from the symbols, not from free text.
      const make = field.strict ? field.make : (shape.value?.(path, schema, field.make) ?? field.make);
      if (!field.nullable || !allowsNull(schema)) return make;
      return (random) => (random() < 0.2 ? null : make(random));
    },
  };
}

function namesValues(schema: JsonSchema): boolean {
  if ('const' in schema || Array.isArray(schema.enum)) return true;
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(union) && union.length > 0 && union.every((s) => s.type === 'null' || namesValues(s));
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
  if (size !== undefined) digits = Math.min(digits, Math.floor((8 * size - 1) * Math.log10(2)));
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
