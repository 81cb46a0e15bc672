import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * A module resolution hook, so that a bundle's `import … from 'slipway'` gets the Slipway that is running
 * it (the runtime provides Slipway; bundles leave it out), wherever the bundle's folder is — a store
 * outside any project has no node_modules/slipway. It resolves the specifier as if this module imported
 * it: Slipway's package self-reference, with the process's conditions. It applies only to `bundle.mjs` in
 * an artifact folder (64 hex digits) or a build's staging folder, and changes nothing else.
 */
const HOOK = `
let parentURL;
const BUNDLE = /\\/(?:[0-9a-f]{64}|slipway-build-[^/]+)\\/bundle\\.mjs$/;
export function initialize(data) { parentURL = data.parentURL; }
export async function resolve(specifier, context, next) {
  if ((specifier === 'slipway' || specifier.startsWith('slipway/')) && BUNDLE.test(context.parentURL ?? '')) {
    return next(specifier, { ...context, parentURL });
  }
  return next(specifier, context);
}
`;

/** Name prefix of the temporary folder a build stages its bundle in (the hook above matches it). */
export const STAGING_PREFIX = 'slipway-build-';

let registered = false;

/**
 * Imports a built bundle (`…/bundle.mjs`) and returns its exports. Node caches modules by URL, so importing
 * the same file twice in a process gives the same module (artifacts are immutable, so that is safe).
 */
export async function importBundle(path: string): Promise<Record<string, unknown>> {
  if (!registered) {
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { parentURL: import.meta.url } });
    registered = true;
  }
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
