// The Kafka Streams leg of bench/kafka.ts: builds bench/kafka-streams/ once per machine (Maven, Kafka Streams from
// Maven Central, the broker's version) into its target/ folder (gitignored), and runs it over a topic.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Runs the Kafka Streams map over `input` into `output`; resolves with its seconds from RUNNING to all committed. */
export function runKafkaStreams(options: {
  brokers: string[];
  input: string;
  output: string;
  applicationId: string;
  records: number;
  threads: number;
}): Promise<number> {
  const classpath = `${join(DIR, 'target', 'bench-kafka-streams.jar')}:${join(DIR, 'target', 'lib', '*')}`;
  const args = [
    '-cp',
    classpath,
    'dev.slipway.bench.MapBench',
    options.brokers.join(','),
    options.input,
    options.output,
    options.applicationId,
    String(options.records),
    String(options.threads),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`the Kafka Streams app exited ${code}: ${out.slice(-2000)}${err}`));
        return;
      }
      resolve((JSON.parse(line) as { seconds: number }).seconds);
    });
  });
}
