// The Kafka Streams leg of bench/kafka.ts: builds bench/kafka-streams/ once per machine (Maven, Kafka Streams from
// Maven Central, the broker's version) into its target/ folder (gitignored), and runs it over a topic.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('./kafka-streams/', import.meta.url));
const SOURCES = ['pom.xml', 'src/main/java/dev/slipway/bench/MapBench.java'];
const MARKER = join(DIR, 'target', '.slipway-built');

function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(readFileSync(join(DIR, file)));
  return hash.digest('hex');
}

/** Builds the app unless target/ holds a build of the same sources. */
export function ensureKafkaStreamsBuilt(): void {
  const hash = sourcesHash();
  if (existsSync(MARKER) && readFileSync(MARKER, 'utf8') === hash) return;
  console.log('kafka-streams: building bench/kafka-streams with Maven (once per machine; may take minutes)');
  const mvn = process.env.MVN || 'mvn';
  const args = ['-q', '-B', 'package', 'dependency:copy-dependencies', '-DoutputDirectory=target/lib'];
  const built = spawnSync(mvn, [...args, '-DincludeScope=runtime'], { cwd: DIR, encoding: 'utf8' });
  if (built.status !== 0) {
    throw new Error(`Maven failed building bench/kafka-streams:\n${(built.stdout + built.stderr).slice(-4000)}`);
  }
  writeFileSync(MARKER, hash);
}

/** A Kafka Streams app started paused, settled (RUNNING, every partition's task assigned), waiting for `go`. */
export interface KafkaStreamsApp {
  /** Resumes processing (the caller starts its clock here). */
  go(): void;
  /** Rejects when the app exits before `stop` is called. */
  readonly failed: Promise<never>;
  /** Closes the app (it leaves its group and removes its state directory); resolves with its rebalances and CPU seconds after `go`. */
  stop(): Promise<{ rebalances: number; cpuSeconds: number }>;
}

/**
 * Starts the Kafka Streams map over `input` into `output` (bench/kafka-streams/MapBench.java) and resolves once it is
 * RUNNING with every input partition assigned, paused: JVM start, the first rebalance, task and producer set-up are
 * all behind it, and nothing is processed until `go()`.
 */
export function startKafkaStreams(options: {
  brokers: string[];
  input: string;
  output: string;
  applicationId: string;
  partitions: number;
  threads: number;
}): Promise<KafkaStreamsApp> {
  const classpath = `${join(DIR, 'target', 'bench-kafka-streams.jar')}:${join(DIR, 'target', 'lib', '*')}`;
  const args = [
    '-cp',
    classpath,
    'dev.slipway.bench.MapBench',
    options.brokers.join(','),
    options.input,
    options.output,
    options.applicationId,
    String(options.partitions),
    String(options.threads),
  ];
  const child: ChildProcessWithoutNullStreams = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const lines: string[] = [];
  let onLine: (() => void) | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    lines.push(line);
    onLine?.();
  });
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const failed = new Promise<never>((_, reject) => {
    child.on('error', reject);
    void exited.then((code) => {
      if (!stopping) reject(new Error(`the Kafka Streams app exited ${code} before it was stopped: ${err}`));
    });
  });
  failed.catch(() => undefined);
  const nextLine = () =>
    Promise.race([
      new Promise<string>((resolve) => {
        const take = () => {
          const line = lines.shift();
          if (line === undefined) return;
          onLine = undefined;
          resolve(line);
        };
        onLine = take;
        take();
      }),
      failed,
    ]);
  return nextLine().then((ready) => {
    if (!(JSON.parse(ready) as { ready?: boolean }).ready) throw new Error(`the Kafka Streams app said ${ready}`);
    return {
      go: () => void child.stdin.write('go\n'),
      failed,
      async stop() {
        stopping = true;
        child.stdin.end('stop\n');
        const code = await exited;
        const last = lines.at(-1);
        if (code !== 0 || last === undefined) throw new Error(`the Kafka Streams app exited ${code}: ${err}`);
        return JSON.parse(last) as { rebalances: number; cpuSeconds: number };
      },
    };
  });
}
