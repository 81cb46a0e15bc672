/**
 * Field paths name a place inside a record, the same way in masking rules, PII findings, stats and drift:
 * object properties are joined with `.` and the elements of an array are `[]`.
 *
 *   { customer: { email }, tags: ['a'], lines: [{ sku }] }  →  customer, customer.email, tags, tags[], lines, lines[], lines[].sku
 *
 * Property names containing `.` or `[]` are not escaped (they are rare in JSON records).
 */

/** Joins a parent path and a property name. */
export function childPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** The path of an array's elements. */
export function itemsPath(parent: string): string {
  return `${parent}[]`;
}

/** The JSON type of a value, as stats and drift reports name it. */
export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  return 'object';
}

/**
 * Calls `visit(path, value)` for every field inside `value` (depth first, parents before children).
 * Return `false` from `visit` to skip a field's children.
 */
export function walkFields(
  value: unknown,
  visit: (path: string, value: unknown) => boolean | undefined,
  path = '',
): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const p = itemsPath(path);
    for (const item of value) {
      if (visit(p, item) === false) continue;
      walkFields(item, visit, p);
    }
    return;
  }
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const p = childPath(path, key);
    if (visit(p, v) === false) continue;
    walkFields(v, visit, p);
  }
}

/** Splits a path into segments: `lines[].sku` → ['lines', '[]', 'sku']. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('.')) {
    let name = part;
    let arrays = 0;
    while (name.endsWith('[]')) {
      name = name.slice(0, -2);
      arrays++;
    }
    if (name !== '') out.push(name);
    for (let i = 0; i < arrays; i++) out.push('[]');
  }
  return out;
}

/** True when `path` is well formed: property names separated by `.`, each optionally followed by `[]`. */
export function isValidPath(path: string): boolean {
  return typeof path === 'string' && /^[^.[\]]+(\[\])*(\.[^.[\]]+(\[\])*)*$/.test(path);
}

/** Reads a plain dotted path (no `[]`) from a record; undefined when any step is missing. */
export function getPath(record: unknown, segments: readonly string[]): unknown {
  let v: unknown = record;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}
