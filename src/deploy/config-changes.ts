import type { ConfigChange } from './deployment.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The fields that differ between two configs, as JSON pointers with their old and new values
 * (objects are compared field by field; arrays and other values as a whole), sorted by path.
 *
 * @example
 * configChanges({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 } }) // [{ path: '/b/c', from: 2, to: 3 }]
 */
export function configChanges(from: unknown, to: unknown, path = ''): ConfigChange[] {
  if (isObject(from) && isObject(to)) {
    const out: ConfigChange[] = [];
    for (const key of [...new Set([...Object.keys(from), ...Object.keys(to)])].sort()) {
      const p = `${path}/${key}`;
      if (!(key in to)) out.push({ path: p, from: from[key] });
      else if (!(key in from)) out.push({ path: p, to: to[key] });
      else out.push(...configChanges(from[key], to[key], p));
    }
    return out;
  }
  if (JSON.stringify(from) === JSON.stringify(to)) return [];
  return [{ path: path || '/', ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }];
}
