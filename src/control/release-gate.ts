import type { ControlStore } from '../deploy/control-store.js';
import type { ArtifactRef } from '../deploy/deployment.js';
import type { TestReport } from '../deploy/test-report.js';
import { SlipwayError } from '../errors.js';

/** The environment in which untested and development deployments are allowed. */
export const LOCAL_ENVIRONMENT = 'local';

export interface ReleaseGateInput {
  store: ControlStore;
  /** The controller's environment. */
  environment: string;
  artifact: ArtifactRef;
  /** The request's `allowUntested` (CLI `--allow-untested`); honoured only where untested deploys are allowed. */
  allowUntested?: boolean;
  /** Whether this environment accepts untested deploys (its `allowUntested` in slipway.config.ts); default: only `local`. */
  allowsUntested?: boolean;
}

export interface ReleaseGateResult {
  /** True when the deployment goes ahead without a passing report (recorded in its options). */
  untested: boolean;
  /** The report that let it through, when there is one. */
  report?: TestReport;
}

/**
 * Decides whether an artifact may be deployed: it needs a latest test report for exactly its digest,
 * and that report must have passed. Throws `SLIPWAY_RELEASE_GATE` naming what is missing or what failed.
 *
 * @example
 * const { untested } = await checkReleaseGate({ store, environment: 'local', artifact })
 */
export async function checkReleaseGate(input: ReleaseGateInput): Promise<ReleaseGateResult> {
  const { store, environment, artifact } = input;
  const local = input.allowsUntested ?? environment === LOCAL_ENVIRONMENT;
  if (input.allowUntested === true && !local) {
    const why =
      input.allowsUntested === undefined
        ? `is accepted only by a '${LOCAL_ENVIRONMENT}' control plane; this one is '${environment}'`
        : `is not accepted in ${environment}: its declaration in slipway.config.ts does not say allowUntested: true`;
    throw new SlipwayError(
      'SLIPWAY_RELEASE_GATE',
      `allowUntested (--allow-untested) ${why}. Run \`slipway test --artifact <digest>\` and deploy once it passes.`,
      { details: { environment } },
    );
  }
  if (input.allowUntested === true) return { untested: true };
  const short = artifact.digest.slice(0, 19);
  const report = await store.latestTestReport(artifact.digest);
  if (report === undefined) {
    throw new SlipwayError(
      'SLIPWAY_RELEASE_GATE',
      `no test report for ${artifact.digest} — run \`slipway test --artifact ${short}\` in the pipeline's project, then deploy again${local ? ' (or pass --allow-untested on this local control plane)' : ''}.`,
      { details: { digest: artifact.digest, reason: 'no-report' } },
    );
  }
  if (!report.passed) {
    const names = report.failures.map(
      (f: TestReport['failures'][number]) => `${f.name}${f.file === null ? '' : ` (${f.file})`}`,
    );
    const listed = names.slice(0, 5).join('; ') + (names.length > 5 ? `; and ${names.length - 5} more` : '');
    throw new SlipwayError(
      'SLIPWAY_RELEASE_GATE',
      `the latest test report for ${artifact.digest} failed: ${listed || 'the test run failed'}. Fix the tests, run \`slipway test --artifact ${short}\` again, then deploy.`,
      { details: { digest: artifact.digest, reason: 'failed', failures: report.failures } },
    );
  }
  return { untested: false, report };
}
