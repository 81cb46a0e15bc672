import { canonicalJson, type JsonSchema } from './schema.js';
import {
  acceptsAll,
  type Context,
  describeSchema,
  isObj,
  type Side,
  type SubsetViolation,
  typeSet,
} from './subset-context.js';

// The combinators of the subset check: local `$ref`s, `allOf` and the unions (`anyOf`, `oneOf`). The
// keywords of one schema (types, bounds, properties, items) are in schema-keywords.ts.

/** Follows a local `$ref` (`#/definitions/x`, `#/$defs/x`, `#`, or an `$id` in the document). */
export function deref(schema: Side, root: Side): { schema: Side; ref?: string } {
  if (!isObj(schema) || typeof schema.$ref !== 'string') return { schema };
  const ref = schema.$ref;
  let target: unknown;
  if (ref === '#') target = root;
  else if (ref.startsWith('#/')) {
    target = root;
    for (const part of ref.slice(2).split('/')) {
      const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
      target = isObj(target) ? target[key] : undefined;
    }
  } else target = findId(root, ref);
  if (target === undefined || (typeof target !== 'boolean' && !isObj(target))) return { schema, ref: `!${ref}` };
  const { $ref: _ref, ...siblings } = schema;
  const resolved = Object.keys(siblings).length === 0 ? (target as Side) : { allOf: [siblings, target] };
  return { schema: resolved, ref };
}

function findId(node: unknown, id: string): unknown {
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = findId(n, id);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isObj(node)) return undefined;
  if (node.$id === id) return node;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'const' || k === 'enum' || k === 'default' || k === 'examples') continue;
    const found = findId(v, id);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A shallow intersection of schemas (both must hold). Where it cannot combine two values it keeps one, which only widens: sound. */
export function mergeSchemas(a: JsonSchema, b: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (!(k in out)) out[k] = v;
    else if (canonicalJson(out[k]) === canonicalJson(v)) continue;
    else if (k === 'required') out[k] = [...new Set([...(out[k] as string[]), ...(v as string[])])];
    else if (k === 'properties' && isObj(out[k]) && isObj(v)) {
      const props: JsonSchema = { ...(out[k] as JsonSchema) };
      for (const [p, s] of Object.entries(v)) props[p] = p in props ? { allOf: [props[p], s] } : s;
      out[k] = props;
    } else if (k === 'type') {
      const left = typeSet(out);
      const right = typeSet(b);
      const both = [...left].filter((t) => right.has(t) || (t === 'integer' && right.has('number')));
      for (const t of right) if (t === 'integer' && left.has('number') && !both.includes('integer')) both.push(t);
      out.type = both;
    } else if (k === 'minimum' || k === 'minLength' || k === 'minItems' || k === 'minProperties')
      out[k] = Math.max(Number(out[k]), Number(v));
    else if (k === 'maximum' || k === 'maxLength' || k === 'maxItems' || k === 'maxProperties')
      out[k] = Math.min(Number(out[k]), Number(v));
  }
  return out;
}

/** Flattens `allOf` into its parent (a writer side only: merging keeps or widens what it accepts). */
export function flattenAllOf(schema: JsonSchema, root: Side): JsonSchema {
  if (!Array.isArray(schema.allOf)) return schema;
  const { allOf, ...rest } = schema;
  let merged: JsonSchema = rest;
  for (const part of allOf as Side[]) {
    const resolved = deref(part, root).schema;
    if (resolved === true) continue;
    if (resolved === false) return { not: {} };
    merged = mergeSchemas(merged, flattenAllOf(resolved as JsonSchema, root));
  }
  return merged;
}

export const unionOf = (s: JsonSchema): Side[] | undefined =>
  Array.isArray(s.anyOf) ? (s.anyOf as Side[]) : Array.isArray(s.oneOf) ? (s.oneOf as Side[]) : undefined;

export function withoutUnion(s: JsonSchema): JsonSchema {
  const { anyOf: _a, oneOf: _o, ...rest } = s;
  return rest;
}
/** The reader's `allOf`: the writer must fit every part. */
export function checkReaderAllOf(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  const { allOf, ...rest } = reader;
  ctx.check(writer, rest, path, ctx);
  for (const part of allOf as Side[]) ctx.check(writer, part, path, ctx);
}

/** A writer union: each branch (with the writer's other keywords) must fit the reader. */
export function checkWriterUnion(
  writer: JsonSchema,
  branches: Side[],
  reader: JsonSchema,
  path: string,
  ctx: Context,
): void {
  const rest = withoutUnion(writer);
  for (const branch of branches) {
    const b = deref(branch, ctx.writerRoot).schema;
    if (b === false) continue;
    ctx.check(b === true ? rest : mergeSchemas(rest, b as JsonSchema), reader, path, ctx);
  }
}

/** A reader union: the writer (split by type) must fit one branch; else the closest branch's violations are named. */
export function checkReaderUnion(
  writer: JsonSchema,
  reader: JsonSchema,
  branches: Side[],
  path: string,
  ctx: Context,
): void {
  const rest = withoutUnion(reader);
  if (!acceptsAll(rest)) ctx.check(writer, rest, path, ctx);
  const types = typeSet(writer);
  const parts: JsonSchema[] =
    types.size > 1 && writer.type !== undefined ? [...types].map((t) => ({ ...writer, type: t })) : [writer];
  for (const part of parts) {
    let best: SubsetViolation[] | undefined;
    for (const branch of branches) {
      const sub: Context = { ...ctx, refs: new Set(ctx.refs), out: [] };
      ctx.check(part, branch, path, sub);
      if (sub.out.length === 0) {
        best = [];
        break;
      }
      if (best === undefined || sub.out.length < best.length) best = sub.out;
    }
    if (best !== undefined && best.length > 0) {
      const firstFew = best
        .slice(0, 3)
        .map((v) => `${v.path}: ${v.reader}`)
        .join('; ');
      ctx.out.push({
        rule: 'union-narrowed',
        path,
        writer: describeSchema(part),
        reader: `one of ${branches.length} branches, and none accepts it (closest: ${firstFew})`,
      });
    }
  }
}
