/**
 * Finds the Kafka broker for tests: `KAFKA_BROKERS` (comma-separated `host:port`), or else starts the
 * project's single-node broker with `node scripts/kafka-broker.mjs start` (idempotent; it keeps running
 * for later test files). Under `npm test` it starts in the run's own state folder (`SLIPWAY_KAFKA_STATE`,
 * set by scripts/run-tests.mjs) and the run stops it when it ends; a test file run on its own starts the
 * checkout's broker, which stays up until `npm run kafka:stop`. Never skips: no broker is a test failure.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka-broker.mjs', import.meta.url));

/** The brokers to test against, starting the local broker when `KAFKA_BROKERS` is unset. */
export function kafkaBrokers(): string[] {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv)
    return fromEnv
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0);
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, [SCRIPT, 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10 * 60_000,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(
      `KAFKA_BROKERS is unset and starting a broker with '${SCRIPT} start' failed:\n${stderr.split('\n').slice(-20).join('\n')}\n` +
        'Set KAFKA_BROKERS=host:port to use a running broker, or fix the error above (needs Java 17+ and Maven).',
      { cause: err },
    );
  }
  const line = stdout.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (line === undefined) throw new Error(`'${SCRIPT} start' printed no KAFKA_BROKERS= line:\n${stdout}`);
  const value = line.slice('KAFKA_BROKERS='.length).trim();
  // Later calls in this process (other suites) reuse it without running the script again.
  process.env.KAFKA_BROKERS = value;
  return value.split(',').map((b) => b.trim());
}
