import { randomUUID } from 'node:crypto';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { namespaceLog } from '../log/namespaced-log.js';
import { type LogConfig, openLog } from '../log/open-log.js';
import { withEmbeddedLog } from './with-embedded-log.js';

/** The variable `slipway test --env <environment>` sets for the tests: the environment's log config, as JSON. */
export const TEST_LOG_VARIABLE = 'SLIPWAY_TEST_LOG';

function fromVariable(raw: string): LogConfig {
  let config: LogConfig;
  try {
    config = JSON.parse(raw) as LogConfig;
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `$${TEST_LOG_VARIABLE} is not JSON (${(err as Error).message}); unset it to test on a throwaway embedded log.`,
      { cause: err },
    );
  }
  if (config?.engine !== 'embedded' && config?.engine !== 'kafka')
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `$${TEST_LOG_VARIABLE} names no log engine ('embedded' or 'kafka'); unset it to test on a throwaway embedded log.`,
    );
  return config;
}

/**
 * Runs `fn` with a log of its own, then removes everything it made. Under `slipway test --env <environment>`
 * (a developer's workspace, say) that is a fresh namespace inside the environment's (its log, its prefix plus
 * `t-<random>.`), so test files running side by side never meet and the environment's own data is never
 * touched; otherwise a throwaway embedded log, as {@link withEmbeddedLog}. `config` opens the same namespace,
 * for processes the test starts.
 *
 * @example
 * await withTestLog(async (log) => {
 *   await produceRecords(log, orders, fixtures)
 *   await runPipeline({ pipeline: enrichOrders, log, until: 'caught-up' })
 * })
 */
export async function withTestLog<T>(fn: (log: Log, config: LogConfig) => Promise<T>): Promise<T> {
  const raw = process.env[TEST_LOG_VARIABLE];
  if (raw === undefined || raw === '') return withEmbeddedLog((log, path) => fn(log, { engine: 'embedded', path }));
  const config = fromVariable(raw);
  const outer = config.namespace ?? '';
  const own = `t-${randomUUID().slice(0, 8)}.`;
  const { namespace: _namespace, ...engine } = config;
  const base = await openLog(engine);
  // Nested in the environment's namespace, so what the test makes is recorded there too: a crashed test's
  // leftovers are still removed by `workspace down`.
  const log = namespaceLog(outer === '' ? base : namespaceLog(base, outer), own);
  try {
    return await fn(log, { ...config, namespace: `${outer}${own}` });
  } finally {
    await log.dropNamespace().catch(() => {});
    await log.close();
  }
}
