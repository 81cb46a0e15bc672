import { SlipwayError } from '../errors.js';
import type { DeploymentEvent, DeploymentRecord, TestReport } from './control-store.js';
import { readDaemonInfo } from './daemon.js';

/** A small client of the control plane's HTTP API (what the CLI uses). */
export class ControlPlaneClient {
  constructor(readonly url: string) {}

  /** The daemon of the project in `dir` (`.slipway`), or a clear error saying how to start one. */
  static find(dir: string, url?: string): ControlPlaneClient {
    const found = url ?? process.env.SLIPWAY_CONTROL_PLANE ?? readDaemonInfo(dir)?.url;
    if (found === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DAEMON_UNAVAILABLE',
        `No control plane is running for ${dir}. Start one with \`slipway up\` (add --detach to run it in the background), or pass --control-plane <url>.`,
      );
    }
    return new ControlPlaneClient(found);
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new SlipwayError(
        'SLIPWAY_DAEMON_UNAVAILABLE',
        `The control plane at ${this.url} does not answer (${(err as Error).message}). Is \`slipway up\` still running?`,
        {
          retryable: true,
          cause: err,
        },
      );
    }
    const json = (await res.json().catch(() => ({}))) as {
      error?: { code: string; message: string; details?: Record<string, unknown> };
    };
    if (!res.ok) {
      const e = json.error ?? { code: 'SLIPWAY_DAEMON_UNAVAILABLE', message: `HTTP ${res.status}` };
      throw new SlipwayError(e.code as SlipwayError['code'], e.message, { details: e.details ?? {} });
    }
    return json as T;
  }

  deployment(id: string, after = 0): Promise<{ deployment: DeploymentRecord; events: DeploymentEvent[] }> {
    return this.request('GET', `/api/deployments/${encodeURIComponent(id)}?after=${after}`);
  }

  /** Records a test report (`slipway test`) where this control plane's release gate reads it. */
  putTestReport(report: TestReport): Promise<{ digest: string; passed: boolean }> {
    return this.request('POST', '/api/test-reports', report);
  }
}
