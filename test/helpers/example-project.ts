import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A copy of examples/orders in a temp folder, as a user's project: `slipway` linked to this repo, TypeBox
 * linked (one copy, as npm installs it), `tsx` linked when asked (for `node --import tsx` started in the project). Call `remove()` after.
 */
export function copyExampleProject(
  options: {
    prefix?: string;
    tsx?: boolean;
    skip?: RegExp;
    /**
     * `copy` for tests of bundles' bytes across copies of the project: a linked TypeBox is bundled from
     * its real path outside the project, which differs between checkouts (default `link`).
     */
    typebox?: 'link' | 'copy';
  } = {},
): {
  dir: string;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? 'slipway-project-'));
  const skip = options.skip ?? /[/\\](\.slipway|node_modules)$/;
  cpSync(join(ROOT, 'examples/orders'), dir, { recursive: true, filter: (src) => !skip.test(src) });
  mkdirSync(join(dir, 'node_modules/@sinclair'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/slipway'), 'dir');
  if (options.tsx) symlinkSync(join(ROOT, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  // Linked, not copied: a second copy of TypeBox makes every config and record \`unknown\` to the type checker
  // (and \`slipway build\` type-checks), as npm's single, deduplicated copy does not.
  // Node's types, as a project that imports node: modules has them (a devDependency): `slipway build` type-checks.
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
  if (options.typebox === 'copy')
    cpSync(join(ROOT, 'node_modules/@sinclair/typebox'), join(dir, 'node_modules/@sinclair/typebox'), {
      recursive: true,
    });
  else symlinkSync(join(ROOT, 'node_modules/@sinclair/typebox'), join(dir, 'node_modules/@sinclair/typebox'), 'dir');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
