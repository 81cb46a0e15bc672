// npm run bench:deploy [-- --engine both|embedded|kafka] [-- --rate N] [-- --deploys N] [-- --rollbacks N]
// [-- --recreates N] — under a steady load from another process, blue-green deployments of the example pipeline and,
// in the same run, recreate deployments (the baseline of `pauseRatio`), plus broken releases that the gates roll
// back; lost and duplicated records checked by source (bench/deploy-leg.ts runs one engine).
// `--engine both` (the default) runs the embedded engine, then Kafka, with the same load, deployment counts and
// checks, each leg with its own temporary folder, names, processes and topics, all removed when it ends. Kafka is
// the broker at KAFKA_BROKERS, else the project's (started if it is not running, and left running, as the tests
// do); it is found before the embedded leg starts, so a missing broker fails at once. `--engine embedded` needs no
// broker. Default load: 5,000 orders/s (`--rate N`), except `--engine embedded` alone: 20,000.
// Last line: one JSON object; with both engines, `engines.embedded` and `engines.kafka` each hold what
// `--engine embedded` and `--engine kafka` print on their own (less `bench`).
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { argValue } from './common.js';
import { type DeployEngine, type DeployFigures, runDeployLeg } from './deploy-leg.js';

const engineArg = process.argv.indexOf('--engine');
const ENGINE = engineArg > 0 ? process.argv[engineArg + 1] : 'both';
if (ENGINE !== 'both' && ENGINE !== 'embedded' && ENGINE !== 'kafka')
  throw new Error(`--engine takes both, embedded or kafka, not ${ENGINE}`);
const RATE = argValue('rate', ENGINE === 'embedded' ? 20_000 : 5000);
const DEPLOYS = argValue('deploys', 20);
const ROLLBACKS = argValue('rollbacks', 3);
/** Recreate deployments, the baseline of `pauseRatio` (default as many as blue-green ones). */
const RECREATES = argValue('recreates', DEPLOYS);
for (const [name, value, least] of [
  ['rate', RATE, 1],
  ['deploys', DEPLOYS, 1],
  ['rollbacks', ROLLBACKS, 0],
  ['recreates', RECREATES, 1],
] as const) {
  if (!Number.isInteger(value) || value < least)
    throw new Error(
      `--${name} takes a whole number ≥ ${least}, not ${process.argv[process.argv.indexOf(`--${name}`) + 1]}`,
    );
}

const engines: DeployEngine[] = ENGINE === 'both' ? ['embedded', 'kafka'] : [ENGINE];
// Before any leg: a run of both engines that cannot reach Kafka fails now, not after the embedded leg.
const brokers = engines.includes('kafka') ? kafkaBrokers() : undefined;
const figures: Partial<Record<DeployEngine, DeployFigures>> = {};
for (const engine of engines) {
  figures[engine] = await runDeployLeg({
    engine,
    rate: RATE,
    deploys: DEPLOYS,
    rollbacks: ROLLBACKS,
    recreates: RECREATES,
    ...(brokers === undefined ? {} : { brokers }),
  });
}
console.log(
  JSON.stringify(
    ENGINE === 'both'
      ? { bench: 'deploy', engine: 'both', rate: RATE, engines: figures }
      : { bench: 'deploy', ...figures[ENGINE] },
  ),
);
