import type { Command } from 'commander';
import { SlipwayError } from '../../errors.js';
import { formatFinding, SECRETS_ALLOW_FILE, scanFiles } from '../../workflow/scan-secrets.js';
import type { CliContext } from '../context.js';

interface ScanOptions {
  staged?: boolean;
  json?: boolean;
}

export function registerSecrets(program: Command, ctx: CliContext): void {
  const secrets = program
    .command('secrets')
    .description('Secret scanning (secretlint, recommended preset + rules for pipelines)');
  secrets
    .command('scan')
    .description(
      `Scan files for secrets (default: the whole project; in git, its tracked and unignored files). Findings not allowed by fingerprint in ${SECRETS_ALLOW_FILE} fail the scan`,
    )
    .argument('[paths...]', 'files or folders to scan')
    .option('--staged', 'scan what is staged for the next commit (for the pre-commit hook)')
    .option('--json', 'print the findings as JSON')
    .action(async (paths: string[], opts: ScanOptions) => {
      if (opts.staged === true && paths.length > 0)
        throw new SlipwayError('SLIPWAY_USAGE', '--staged scans the staged files: leave out the paths.');
      const { findings, scanned } = await scanFiles({
        ...(paths.length > 0 ? { paths } : {}),
        ...(opts.staged === true ? { staged: true } : {}),
      });
      const refused = findings.filter((f) => !f.allowed);
      if (opts.json === true) ctx.io.out(JSON.stringify({ scanned, findings }, null, 2));
      else for (const f of findings) ctx.io.err(formatFinding(f));
      if (refused.length > 0) {
        throw new SlipwayError(
          'SLIPWAY_SECRETS_FOUND',
          `${refused.length} secret${refused.length === 1 ? '' : 's'} found in ${scanned} file${scanned === 1 ? '' : 's'}. Remove ${refused.length === 1 ? 'it' : 'them'} (and rotate what was exposed); a finding that is not a secret can be allowed by its fingerprint, with a reason, in ${SECRETS_ALLOW_FILE}.`,
          { details: { findings: refused } },
        );
      }
      ctx.io.err(
        `no secrets in ${scanned} file${scanned === 1 ? '' : 's'}${findings.length > 0 ? ` (${findings.length} allowed by fingerprint)` : ''}`,
      );
    });
}
