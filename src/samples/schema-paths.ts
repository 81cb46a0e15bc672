import type { JsonSchema } from '../dataset/schema.js';
import { splitPath } from './field-paths.js';

/** What a schema says about one field path. */
export interface SchemaAtPath {
  /** The field's schema, when the schema declares it. */
  schema: JsonSchema | undefined;
  /** False when some object on the way forbids the field (`additionalProperties: false` without it). */
  allowed: boolean;
  /** Names the parent object declares, for error messages. */
  siblings: string[];
}

/** The alternatives of a union, or the schema itself. */
function alternatives(schema: JsonSchema): JsonSchema[] {
  const union = (schema.anyOf ?? schema.oneOf ?? schema.allOf) as JsonSchema[] | undefined;
  return Array.isArray(union) && union.length > 0 ? union.flatMap(alternatives) : [schema];
}

/** Finds the schema of a field path (`customer.email`, `lines[].sku`) inside a record schema. */
export function schemaAtPath(root: JsonSchema, path: string): SchemaAtPath {
  let current: JsonSchema[] = [root];
  let siblings: string[] = [];
  for (const segment of splitPath(path)) {
    const next: JsonSchema[] = [];
    let open = false;
    siblings = [];
    for (const s of current.flatMap(alternatives)) {
      if (segment === '[]') {
        if (s.items !== undefined && typeof s.items === 'object') next.push(s.items as JsonSchema);
        else if (s.type === undefined || s.type === 'array') open = true;
        continue;
      }
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      siblings.push(...Object.keys(props));
      if (segment in props) next.push(props[segment] as JsonSchema);
      else if (s.additionalProperties !== false && (s.type === undefined || s.type === 'object')) open = true;
    }
    if (next.length === 0) return { schema: undefined, allowed: open, siblings };
    current = next;
  }
  return { schema: current[0], allowed: true, siblings };
}

/**
 * Every declared path of a schema with its sub-schema (objects' properties and arrays' items, through unions),
 * parents before children.
 */
export function declaredPaths(root: JsonSchema): Array<[path: string, schema: JsonSchema]> {
  const out: Array<[string, JsonSchema]> = [];
  const visit = (schema: JsonSchema, path: string, depth: number): void => {
    if (depth > 16) return;
    for (const s of alternatives(schema)) {
      const props = s.properties as Record<string, JsonSchema> | undefined;
      if (props !== undefined) {
        for (const [k, sub] of Object.entries(props)) {
          const p = path === '' ? k : `${path}.${k}`;
          out.push([p, sub]);
          visit(sub, p, depth + 1);
        }
      }
      if (s.items !== undefined && typeof s.items === 'object') {
        const p = `${path}[]`;
        out.push([p, s.items as JsonSchema]);
        visit(s.items as JsonSchema, p, depth + 1);
      }
    }
  };
  visit(root, '', 0);
  return out;
}
