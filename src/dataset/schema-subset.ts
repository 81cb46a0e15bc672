import { canonicalJson, type JsonSchema } from './schema.js';
import {
  checkReaderAllOf,
  checkReaderUnion,
  checkWriterUnion,
  deref,
  flattenAllOf,
  unionOf,
} from './schema-combinators.js';
import { checkArrays, checkNumbers, checkObjects, checkOpaque, checkStrings, checkValues } from './schema-keywords.js';
import {
  acceptsAll,
  type Context,
  describeTypes,
  enumerated,
  fits,
  listValues,
  type Side,
  type SubsetViolation,
  typeSet,
} from './subset-context.js';

export { mergeSchemas } from './schema-combinators.js';
export { SUBSET_RULES, type SubsetRule, type SubsetViolation } from './subset-context.js';

/**
 * Every way a record valid under `writer` can be invalid under `reader`: empty when the writer's records
 * are a subset of what the reader accepts. It reasons about JSON Schema's meaning, not the text:
 *
 * - content models: a property the reader declares is checked against what the writer allows for it —
 *   its own declaration, its `additionalProperties` schema, anything (an open model) or nothing (closed);
 *   a property the writer may write is checked against the reader's declaration, `additionalProperties`,
 *   or refused by a closed reader;
 * - `required`, `type` (integer ⊆ number), `enum`/`const` (each writer value is validated against the
 *   reader, so `anyOf` of constants and `enum` compare by value), numeric bounds (exclusive or not, with
 *   integer rounding), `multipleOf`, string and array lengths, property counts, `uniqueItems`, `format`,
 *   `pattern`, nested objects, arrays and tuples, `anyOf`/`oneOf`/`allOf` and local `$ref`s.
 *
 * It is sound: what it cannot decide (a changed regex, `not`, `if`/`then`) it reports (`unverifiable`,
 * `pattern-changed`) instead of passing. A writer union whose branch fits only a union of reader
 * branches, not one of them, is reported too.
 *
 * @example
 * schemaViolations({ type: 'integer' }, { type: 'number' })  // []
 * schemaViolations({ type: 'number' }, { type: 'integer' })  // [{ rule: 'type-narrowed', path: '$', … }]
 */
export function schemaViolations(writer: JsonSchema | boolean, reader: JsonSchema | boolean): SubsetViolation[] {
  const ctx: Context = { writerRoot: writer, readerRoot: reader, refs: new Set(), out: [], check };
  check(writer, reader, '$', ctx);
  return dedupe(ctx.out);
}

function dedupe(list: SubsetViolation[]): SubsetViolation[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    const k = `${v.rule}|${v.path}|${v.writer}|${v.reader}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function check(writerIn: Side, readerIn: Side, path: string, ctx: Context): void {
  const w = deref(writerIn, ctx.writerRoot);
  const r = deref(readerIn, ctx.readerRoot);
  if (w.ref?.startsWith('!') || r.ref?.startsWith('!')) {
    ctx.out.push({
      rule: 'unverifiable',
      path,
      writer: String(w.ref ?? 'schema'),
      reader: String(r.ref ?? 'schema'),
    });
    return;
  }
  if (w.ref !== undefined || r.ref !== undefined) {
    const key = `${w.ref ?? canonicalJson(w.schema)}→${r.ref ?? canonicalJson(r.schema)}`;
    if (ctx.refs.has(key)) return;
    ctx.refs.add(key);
  }
  let writer = w.schema;
  if (writer === false || acceptsAll(r.schema)) return;
  if (r.schema === false) {
    ctx.out.push({ rule: 'schema-closed', path, writer: 'values', reader: 'no value (false)' });
    return;
  }
  const reader = r.schema as JsonSchema;
  if (writer === true) writer = {};
  writer = flattenAllOf(writer as JsonSchema, ctx.writerRoot);

  if (Array.isArray(reader.allOf)) {
    checkReaderAllOf(writer, reader, path, ctx);
    return;
  }
  const wUnion = unionOf(writer);
  if (wUnion !== undefined) {
    checkWriterUnion(writer, wUnion, reader, path, ctx);
    return;
  }

  // Constants: compare by value, exactly.
  const values = enumerated(writer);
  if (values !== undefined) {
    const explicit = Object.hasOwn(writer, 'const') || Array.isArray(writer.enum);
    const readerTypes = typeSet(reader);
    const wTypes = typeSet(writer);
    if (!explicit && [...wTypes].some((t) => !fits(t, readerTypes)) && unionOf(reader) === undefined) {
      ctx.out.push({ rule: 'type-narrowed', path, writer: describeTypes(wTypes), reader: describeTypes(readerTypes) });
      return;
    }
    checkValues(values, writer, reader, path, ctx);
    return;
  }

  const rUnion = unionOf(reader);
  if (rUnion !== undefined) {
    checkReaderUnion(writer, reader, rUnion, path, ctx);
    return;
  }

  checkOpaque(writer, reader, path, ctx);
  const wTypes = typeSet(writer);
  const rTypes = typeSet(reader);
  const missing = [...wTypes].filter((t) => !fits(t, rTypes));
  if (missing.length > 0)
    ctx.out.push({ rule: 'type-narrowed', path, writer: describeTypes(wTypes), reader: describeTypes(rTypes) });
  const shared = new Set([...wTypes].filter((t) => fits(t, rTypes)));

  if (reader.enum !== undefined || reader.const !== undefined) {
    ctx.out.push({
      rule: reader.const !== undefined ? 'const-changed' : 'enum-added',
      path,
      writer: `any ${describeTypes(shared)}`,
      reader: reader.const !== undefined ? `exactly ${JSON.stringify(reader.const)}` : listValues(reader.enum),
    });
    return;
  }
  if (shared.has('number') || shared.has('integer')) checkNumbers(writer, reader, path, ctx, !shared.has('number'));
  if (shared.has('string')) checkStrings(writer, reader, path, ctx);
  if (shared.has('array')) checkArrays(writer, reader, path, ctx);
  if (shared.has('object')) checkObjects(writer, reader, path, ctx);
}
