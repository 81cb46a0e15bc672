import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The runner's Prometheus metrics, in a registry of its own (several runners may share a process). */
export class RunnerMetrics {
  readonly registry: Registry;
  readonly recordsIn: Counter<'pipeline' | 'version' | 'topic'>;
  readonly recordsOut: Counter<'pipeline' | 'version' | 'topic'>;
  readonly dlq: Counter<'pipeline' | 'version' | 'topic' | 'reason'>;
  readonly wrongPartition: Counter<'pipeline' | 'version' | 'topic' | 'policy'>;
  readonly registryUnavailable: Counter<'pipeline' | 'version'>;
  readonly lag: Gauge<'pipeline' | 'version' | 'topic' | 'partition'>;
  readonly batchSeconds: Histogram<'pipeline' | 'version'>;
  readonly endToEndSeconds: Histogram<'pipeline' | 'version'>;
  readonly commits: Counter<'pipeline' | 'version'>;
  readonly lastCommit: Gauge<'pipeline' | 'version'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    this.recordsIn = new Counter({
      name: 'slipway_records_in_total',
      help: 'Input records processed and committed',
      labelNames: ['pipeline', 'version', 'topic'],
      registers: [registry],
    });
    this.recordsOut = new Counter({
      name: 'slipway_records_out_total',
      help: 'Output records committed',
      labelNames: ['pipeline', 'version', 'topic'],
      registers: [registry],
    });
    this.dlq = new Counter({
      name: 'slipway_dlq_total',
      help: 'Input records sent to the dead-letter dataset',
      labelNames: ['pipeline', 'version', 'topic', 'reason'],
      registers: [registry],
    });
    this.wrongPartition = new Counter({
      name: 'slipway_wrong_partition_total',
      help: "Input records found on another partition than their key's (murmur2), by the dataset's policy",
      labelNames: ['pipeline', 'version', 'topic', 'policy'],
      registers: [registry],
    });
    this.registryUnavailable = new Counter({
      name: 'slipway_schema_registry_unavailable_total',
      help: 'Times the runner could not reach the schema registry and waited to ask again (nothing is dead-lettered)',
      labelNames: ['pipeline', 'version'],
      registers: [registry],
    });
    this.lag = new Gauge({
      name: 'slipway_lag_records',
      help: 'Records in the partition not yet committed by the pipeline',
      labelNames: ['pipeline', 'version', 'topic', 'partition'],
      registers: [registry],
    });
    this.batchSeconds = new Histogram({
      name: 'slipway_batch_duration_seconds',
      help: 'Time to read, process and commit one batch',
      labelNames: ['pipeline', 'version'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.endToEndSeconds = new Histogram({
      name: 'slipway_end_to_end_latency_seconds',
      help: 'From an input record being appended to its outputs being committed',
      labelNames: ['pipeline', 'version'],
      // Up to 10 minutes: a p99 SLO of minutes must still fall inside a bucket to be read back.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    });
    this.commits = new Counter({
      name: 'slipway_commits_total',
      help: 'Atomic commits (outputs + state + offsets)',
      labelNames: ['pipeline', 'version'],
      registers: [registry],
    });
    this.lastCommit = new Gauge({
      name: 'slipway_last_commit_timestamp_seconds',
      help: 'When the runner last committed (or was activated, if it has not committed since), seconds since the epoch',
      labelNames: ['pipeline', 'version'],
      // Runners of a group aggregated: the latest of their commits, not a sum of timestamps.
      aggregator: 'max',
      registers: [registry],
    });
  }

  /** An activation: the output-freshness clock starts again from it (a runner just activated is not stale). */
  activated(labels: { pipeline: string; version: string }, at: number): void {
    this.lastCommit.set(labels, at / 1000);
  }

  /** Counts one successful commit: records in and out per topic, the batch's duration, sampled end-to-end latency. */
  recordCommit(
    labels: { pipeline: string; version: string },
    commit: {
      inputs: ReadonlyArray<{ topic: string; count: number }>;
      outputs: ReadonlyArray<{ topic: string; records: ReadonlyArray<unknown> }>;
      /** The input records, for their timestamps (append times). */
      batch: ReadonlyArray<{ timestamp: number }>;
      /** How many batches the commit gathered (a group commit; default 1): each gets its share of samples. */
      batches?: number;
      committedAt: number;
      durationMs: number;
    },
  ): void {
    for (const i of commit.inputs) this.recordsIn.inc({ ...labels, topic: i.topic }, i.count);
    for (const out of commit.outputs) this.recordsOut.inc({ ...labels, topic: out.topic }, out.records.length);
    this.commits.inc(labels);
    this.lastCommit.set(labels, commit.committedAt / 1000);
    // Latency is sampled (at most ~256 records per batch, evenly spread) to keep the hot path cheap.
    const e2e = this.endToEndSeconds.labels(labels);
    const batch = commit.batch;
    const stride = Math.ceil(batch.length / (256 * (commit.batches ?? 1)));
    for (let i = 0; i < batch.length; i += stride)
      e2e.observe((commit.committedAt - (batch[i] as { timestamp: number }).timestamp) / 1000);
    this.batchSeconds.observe(labels, commit.durationMs / 1000);
  }
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) for one or more registries, or for the registry
 * `collect` gives at each scrape (the metrics of runner processes, aggregated).
 *
 * @example
 * const server = await serveMetrics([runner.metrics.registry], { port: 9464 })
 */
export async function serveMetrics(
  registries: Registry[] | (() => Promise<Registry>),
  options: { port?: number; host?: string; beforeScrape?: () => Promise<void> } = {},
): Promise<MetricsServer> {
  const merged = typeof registries === 'function' ? undefined : Registry.merge(registries);
  const collect = typeof registries === 'function' ? registries : async () => merged as Registry;
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at GET /metrics\n');
      return;
    }
    Promise.resolve(options.beforeScrape?.())
      .then(collect)
      .then(async (registry) => {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      })
      .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
