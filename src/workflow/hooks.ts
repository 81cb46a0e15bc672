/**
 * The git hooks a Slipway project runs (husky 9: `.husky/<hook>` scripts, installed by `npm install`
 * through the package's `prepare: husky`). The same hooks guard Slipway's own repository.
 */

/** pre-commit: a secret scan of the staged files, the linter on the staged files, the type check. */
export const HUSKY_PRE_COMMIT = `# Installed by husky (npm install). Runs before every commit; a failure stops the commit.
npx --no-install slipway secrets scan --staged
npx --no-install biome check --staged --no-errors-on-unmatched --files-ignore-unknown=true
npx --no-install tsc --noEmit -p .
`;

/** pre-push: the unit and integration tests (the end-to-end suite runs in CI). */
export const HUSKY_PRE_PUSH = `# Installed by husky (npm install). Runs before every push; a failure stops the push.
npx --no-install slipway test --layer unit,integration
`;
