import { relative, resolve } from 'node:path';
import { type BuildArtifactOptions, type BuildArtifactResult, buildArtifact } from '../artifact/build-artifact.js';
import { SlipwayError } from '../errors.js';
import { formatFinding, loadAllowList, SECRETS_ALLOW_FILE, scanSources } from '../workflow/scan-secrets.js';
import { typecheckPipeline } from '../workflow/typecheck.js';

/**
 * `slipway build` (and `slipway test --build`): type-checks the pipeline, bundles it, and refuses a bundle
 * that holds a secret (artifacts are promoted everywhere) before it is stored.
 */
export async function checkedBuild(options: BuildArtifactOptions): Promise<BuildArtifactResult> {
  const cwd = resolve(options.cwd ?? process.cwd());
  typecheckPipeline(options.entry, cwd);
  const allow = loadAllowList(cwd);
  const file = `bundle:${relative(cwd, resolve(cwd, options.entry)).split('\\').join('/')}`;
  return buildArtifact({
    ...options,
    verify: async (bundle) => {
      const findings = await scanSources([{ file, content: Buffer.from(bundle).toString('utf8') }], allow);
      const refused = findings.filter((f) => !f.allowed);
      if (refused.length === 0) return;
      throw new SlipwayError(
        'SLIPWAY_SECRETS_FOUND',
        `the bundle of ${options.entry} holds ${refused.length} secret${refused.length === 1 ? '' : 's'}, and an artifact is promoted to every environment; nothing was built:\n  ${refused.map(formatFinding).join('\n  ')}\nRead secrets at run time (a secret reference in slipway.config.ts, ctx.config), or, for a finding that is not a secret, allow its fingerprint with a reason in ${SECRETS_ALLOW_FILE}.`,
        { details: { entry: options.entry, findings: refused } },
      );
    },
  });
}
