#!/usr/bin/env node
// Slipway test helper: a real single-node Apache Kafka broker (KRaft, broker+controller in one JVM),
// run from the Maven Central jars listed in scripts/kafka/pom.xml. Plain Node 20 ESM, no npm deps.
//
//   node scripts/kafka-broker.mjs start    # prints KAFKA_BROKERS=127.0.0.1:<port> on stdout when ready
//   node scripts/kafka-broker.mjs status   # exit 0 + same line if running and healthy, else exit 1
//   node scripts/kafka-broker.mjs stop     # SIGTERM (15 s) then SIGKILL; removes data dir and state
//
// Run `node scripts/kafka-broker.mjs --help` for the environment variables.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const POM = path.join(SCRIPT_DIR, 'kafka', 'pom.xml');
const LOG4J2 = path.join(SCRIPT_DIR, 'kafka', 'log4j2.xml');
const HOST = '127.0.0.1';
const DEFAULT_PORT = 9092;
const MARKER = '.slipway-complete';
const DATA_PREFIX = 'slipway-kafka-data-';

const HELP = `Usage: node scripts/kafka-broker.mjs <start|stop|status|--help>

Runs a real single-node Apache Kafka broker (KRaft mode, broker and controller in one JVM)
for tests, from the Maven Central jars in scripts/kafka/pom.xml. Needs Java 17+ and Maven.

Commands
  start   Fetch the jars into the cache if missing (mvn dependency:copy-dependencies; a marker
          file is written when complete, so an interrupted download is redone), create a fresh
          temporary data dir, write server.properties, format storage, start the broker detached,
          and wait until it answers ApiVersions and Metadata requests on its port. On success
          prints exactly one line on stdout:  KAFKA_BROKERS=127.0.0.1:<port>
          Progress goes to stderr. If a broker from the state file is already running and
          healthy, it says so and prints the same line (idempotent). If the broker dies or the
          timeout passes, prints the tail of the broker log, stops it, and exits 1.
  status  Exit 0 and print KAFKA_BROKERS=... if the recorded broker is running and healthy,
          else exit 1.
  stop    Stop the recorded broker (SIGTERM, wait up to 15 s, then SIGKILL), delete its
          temporary data dir and the state files. Exit 0 also when no broker is running.

Ports
  KAFKA_PORT unset: use 9092 (client) and 9093 (controller) if both are free; if either is
  busy, use two free ports chosen by the OS instead. KAFKA_PORT set: use exactly that port
  and KAFKA_CONTROLLER_PORT (default KAFKA_PORT+1); if either is busy, fail. Either way,
  read the address from the KAFKA_BROKERS line (or the state file), do not assume 9092.

Environment
  SLIPWAY_KAFKA_CACHE    jar folder (default: \${XDG_CACHE_HOME:-~/.cache}/slipway/kafka-<version>)
  SLIPWAY_KAFKA_STATE    state folder: state.json, broker.pid, broker.log, server.properties
                         (default: /tmp/slipway-kafka)
  SLIPWAY_KAFKA_TIMEOUT  seconds to wait for the broker to become healthy (default: 90)
  SLIPWAY_KAFKA_HEAP     JVM heap flags (default: "-Xmx512m -Xms512m")
  SLIPWAY_KAFKA_JAVA_OPTS  extra JVM flags for the broker
  KAFKA_PORT, KAFKA_CONTROLLER_PORT   see Ports
  JAVA_HOME              java is taken from $JAVA_HOME/bin/java when set, else from PATH
  MVN                    Maven command (default: mvn)

state.json: {"pid", "brokers", "port", "controllerPort", "logDir", "logFile", "stateDir",
             "jarDir", "clusterId", "version", "startedAt"}
`;

// ---------------------------------------------------------------------------------------------
// small helpers

function say(msg) {
  process.stderr.write(`[kafka-broker] ${msg}\n`);
}

class Fail extends Error {}

function fail(msg) {
  throw new Fail(msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kafkaVersion() {
  const pom = fs.readFileSync(POM, 'utf8');
  const m = pom.match(/<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/);
  if (!m) fail(`cannot find <kafka.version> in ${POM}`);
  return m[1];
}

function paths() {
  const version = kafkaVersion();
  const cacheRoot = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const jarDir = path.resolve(process.env.SLIPWAY_KAFKA_CACHE || path.join(cacheRoot, 'slipway', `kafka-${version}`));
  const stateDir = path.resolve(process.env.SLIPWAY_KAFKA_STATE || '/tmp/slipway-kafka');
  return {
    version,
    jarDir,
    stateDir,
    stateFile: path.join(stateDir, 'state.json'),
    pidFile: path.join(stateDir, 'broker.pid'),
    logFile: path.join(stateDir, 'broker.log'),
    propsFile: path.join(stateDir, 'server.properties'),
    lockFile: path.join(stateDir, 'start.lock'),
  };
}

function readState(p) {
  try {
    return JSON.parse(fs.readFileSync(p.stateFile, 'utf8'));
  } catch {
    return null;
  }
}

function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code === 'EPERM') return true;
    return false;
  }
  // A zombie still answers kill(0); on Linux look at /proc to tell.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    /* no /proc (macOS) */
  }
  return true;
}

// True when pid is alive and (where /proc exists) really is the broker we started, so a reused
// pid is never signalled.
function isOurBroker(pid, state) {
  if (!pidAlive(pid)) return false;
  let cmdline;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return true; // cannot check; trust the pid
  }
  return cmdline.includes('kafka.Kafka') && (!state?.propsFile || cmdline.includes(state.propsFile));
}

function tail(file, lines = 60) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no broker log)';
  }
}

function rmQuiet(p) {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
}

// Only delete data dirs that this script created.
function removeDataDir(dir) {
  if (dir && path.basename(dir).startsWith(DATA_PREFIX)) rmQuiet(dir);
}

function cleanupState(p, state) {
  removeDataDir(state?.logDir);
  for (const f of [p.stateFile, p.pidFile, p.propsFile]) rmQuiet(f);
}

function javaBin() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function checkJava() {
  const r = spawnSync(javaBin(), ['-version'], { encoding: 'utf8' });
  if (r.error) fail(`cannot run java (${javaBin()}): ${r.error.message}. Install a JDK 17+ or set JAVA_HOME.`);
  const out = `${r.stderr}${r.stdout}`;
  const m = out.match(/version "(\d+)(?:\.(\d+))?/);
  if (!m) fail(`cannot read the Java version from: ${out.trim()}`);
  const major = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (major < 17) fail(`Kafka ${kafkaVersion()} needs Java 17+, found Java ${major} (${javaBin()}).`);
}

// ---------------------------------------------------------------------------------------------
// jars

function pomHash() {
  return createHash('sha256').update(fs.readFileSync(POM)).digest('hex');
}

function jarsComplete(p) {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(p.jarDir, MARKER), 'utf8'));
    return marker.pomSha256 === pomHash() && fs.existsSync(path.join(p.jarDir, `kafka_2.13-${p.version}.jar`));
  } catch {
    return false;
  }
}

async function ensureJars(p) {
  if (jarsComplete(p)) {
    say(`jars: ${p.jarDir} (cached)`);
    return;
  }
  // Download into a sibling temp dir, then swap it in, so an interrupted run never leaves a
  // folder that looks complete.
  fs.mkdirSync(path.dirname(p.jarDir), { recursive: true });
  const tmp = `${p.jarDir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  rmQuiet(tmp);
  fs.mkdirSync(tmp, { recursive: true });
  const mvn = process.env.MVN || 'mvn';
  const args = [
    '-q',
    '-B',
    '-f',
    POM,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${tmp}`,
    '-DincludeScope=runtime',
  ];
  say(`jars: fetching Kafka ${p.version} with ${mvn} into ${p.jarDir} (first run only; may take minutes)`);
  const t0 = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn(mvn, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d) => {
      out = (out + d).slice(-20000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const ticker = setInterval(() => say(`jars: still downloading... ${Math.round((Date.now() - t0) / 1000)}s`), 15000);
    child.on('error', (e) => {
      clearInterval(ticker);
      resolve({ err: e, out });
    });
    child.on('close', (c) => {
      clearInterval(ticker);
      resolve({ code: c, out });
    });
  });
  if (code.err || code.code !== 0) {
    rmQuiet(tmp);
    if (code.err) fail(`cannot run Maven (${mvn}): ${code.err.message}. Install Maven or set MVN.`);
    fail(
      `Maven failed (exit ${code.code}) fetching the Kafka jars:\n${code.out.trim().split('\n').slice(-40).join('\n')}`,
    );
  }
  const jars = fs.readdirSync(tmp).filter((f) => f.endsWith('.jar'));
  if (!jars.includes(`kafka_2.13-${p.version}.jar`)) {
    rmQuiet(tmp);
    fail(`Maven finished but kafka_2.13-${p.version}.jar is not in the output (${jars.length} jars)`);
  }
  fs.writeFileSync(
    path.join(tmp, MARKER),
    JSON.stringify({ pomSha256: pomHash(), kafkaVersion: p.version, jars: jars.length, at: new Date().toISOString() }) +
      '\n',
  );
  if (jarsComplete(p)) {
    rmQuiet(tmp); // another process finished first
  } else {
    rmQuiet(p.jarDir);
    fs.renameSync(tmp, p.jarDir);
  }
  say(`jars: ${jars.length} jars ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

// ---------------------------------------------------------------------------------------------
// ports

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function osFreePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function parsePort(name) {
  const v = process.env[name];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name}=${v} is not a valid port`);
  return n;
}

async function choosePorts() {
  const explicit = parsePort('KAFKA_PORT');
  if (explicit !== null) {
    const controller = parsePort('KAFKA_CONTROLLER_PORT') ?? explicit + 1;
    if (controller === explicit) fail('KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT');
    for (const [name, port] of [
      ['KAFKA_PORT', explicit],
      ['controller', controller],
    ]) {
      if (!(await portFree(port)))
        fail(`port ${port} (${name}) on ${HOST} is busy; free it or choose another KAFKA_PORT`);
    }
    return { port: explicit, controllerPort: controller };
  }
  const controllerEnv = parsePort('KAFKA_CONTROLLER_PORT');
  const controller = controllerEnv ?? DEFAULT_PORT + 1;
  if ((await portFree(DEFAULT_PORT)) && (await portFree(controller)))
    return { port: DEFAULT_PORT, controllerPort: controller };
  for (let i = 0; i < 20; i++) {
    const a = await osFreePort();
    const b = controllerEnv ?? (await osFreePort());
    if (a !== b && (await portFree(a)) && (await portFree(b))) {
      say(`port ${DEFAULT_PORT} or ${controller} is busy; using ${a} (client) and ${b} (controller) instead`);
      return { port: a, controllerPort: b };
    }
  }
  fail('cannot find two free ports on 127.0.0.1');
}

// ---------------------------------------------------------------------------------------------
// Kafka wire protocol: just enough for ApiVersions v0 and Metadata v4 (non-flexible versions)

function kafkaRequest(port, apiKey, apiVersion, body, timeoutMs = 3000) {
  const correlationId = Math.floor(Math.random() * 0x7fffffff);
  const clientId = Buffer.from('slipway-kafka-broker', 'utf8');
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);

  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      err ? reject(err) : resolve(val);
    };
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat([size, payload])));
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error('connection closed before a full response')));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const len = buf.readInt32BE(0);
      if (len < 4 || len > 16 * 1024 * 1024) return finish(new Error(`bad response size ${len}`));
      if (buf.length < 4 + len) return;
      const frame = buf.subarray(4, 4 + len);
      const gotId = frame.readInt32BE(0);
      if (gotId !== correlationId) return finish(new Error(`correlation id ${gotId} != ${correlationId}`));
      finish(null, frame.subarray(4)); // response header v0 is just the correlation id
    });
  });
}

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.off = 0;
  }
  need(n) {
    if (this.off + n > this.buf.length) throw new Error('truncated response');
  }
  i16() {
    this.need(2);
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }
  i32() {
    this.need(4);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bool() {
    this.need(1);
    return this.buf[this.off++] !== 0;
  }
  str() {
    const n = this.i16();
    if (n < 0) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
}

const API_METADATA = 3;
const API_VERSIONS = 18;

async function apiVersions(port) {
  const r = new Reader(await kafkaRequest(port, API_VERSIONS, 0, Buffer.alloc(0)));
  const errorCode = r.i16();
  const n = r.i32();
  if (n < 0 || n > 1000) throw new Error(`bad ApiVersions array length ${n}`);
  const apis = new Map();
  for (let i = 0; i < n; i++) {
    const key = r.i16();
    apis.set(key, { min: r.i16(), max: r.i16() });
  }
  if (errorCode !== 0) throw new Error(`ApiVersions error code ${errorCode}`);
  if (!apis.has(API_VERSIONS) || !apis.has(API_METADATA))
    throw new Error('ApiVersions response lacks ApiVersions/Metadata');
  return apis;
}

// Metadata v4 for no topics: returns brokers, cluster id and controller id.
async function metadataV4(port) {
  const body = Buffer.alloc(5);
  body.writeInt32BE(0, 0); // topics: empty array (not null = all topics)
  body.writeUInt8(0, 4); // allow_auto_topic_creation = false
  const r = new Reader(await kafkaRequest(port, API_METADATA, 4, body));
  r.i32(); // throttle_time_ms
  const nBrokers = r.i32();
  if (nBrokers < 0 || nBrokers > 1000) throw new Error(`bad broker count ${nBrokers}`);
  const brokers = [];
  for (let i = 0; i < nBrokers; i++) brokers.push({ nodeId: r.i32(), host: r.str(), port: r.i32(), rack: r.str() });
  const clusterId = r.str();
  const controllerId = r.i32();
  const nTopics = r.i32();
  return { brokers, clusterId, controllerId, nTopics };
}

// Resolves to a short description when healthy, throws with the reason otherwise.
async function probe(port) {
  const apis = await apiVersions(port);
  const md = apis.get(API_METADATA);
  if (md.min > 4 || md.max < 4) return `ApiVersions ok (${apis.size} APIs; Metadata v4 unsupported, skipped)`;
  const meta = await metadataV4(port);
  const me = meta.brokers.find((b) => b.port === port);
  if (!me) throw new Error(`Metadata lists no broker on port ${port}: ${JSON.stringify(meta.brokers)}`);
  if (meta.controllerId < 0) throw new Error('Metadata reports no controller yet');
  return `ApiVersions ok (${apis.size} APIs), Metadata ok (cluster ${meta.clusterId}, broker ${me.nodeId} at ${me.host}:${me.port})`;
}

async function _healthy(state) {
  try {
    await probe(state.port);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// lock so two concurrent `start`s do not race

async function withLock(p, timeoutMs, fn) {
  fs.mkdirSync(p.stateDir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    try {
      fs.writeFileSync(p.lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(p.lockFile, 'utf8').trim() || '0');
      if (!pidAlive(holder)) {
        rmQuiet(p.lockFile); // stale lock
        continue;
      }
      if (Date.now() > deadline) fail(`another start (pid ${holder}) holds ${p.lockFile}`);
      if (!warned) say(`waiting for another start (pid ${holder}) to finish`);
      warned = true;
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmQuiet(p.lockFile);
  }
}

// ---------------------------------------------------------------------------------------------
// commands

function timeoutSeconds() {
  const v = process.env.SLIPWAY_KAFKA_TIMEOUT;
  if (v === undefined || v === '') return 90;
  const n = Number(v);
  if (!(n > 0)) fail(`SLIPWAY_KAFKA_TIMEOUT=${v} is not a positive number`);
  return n;
}

function serverProperties({ port, controllerPort, logDir }) {
  return `# Written by scripts/kafka-broker.mjs: single-node KRaft broker for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${controllerPort}
listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${logDir}

# One node: every internal topic gets replication factor 1 (transactions need these).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=5
default.replication.factor=1
min.insync.replicas=1
num.partitions=1
auto.create.topics.enable=true

# Fast start and fast groups for tests.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.check.interval.ms=300000
`;
}

async function cmdStart() {
  const p = paths();
  const timeoutMs = timeoutSeconds() * 1000;
  return withLock(p, timeoutMs + 120_000, async () => {
    const old = readState(p);
    if (old) {
      if (isOurBroker(old.pid, old)) {
        say(`broker pid ${old.pid} from ${p.stateFile} is running; checking it`);
        const ok = await waitHealthy(old, timeoutMs, null);
        if (ok) {
          say(`already running and healthy: ${old.brokers} (pid ${old.pid})`);
          process.stdout.write(`KAFKA_BROKERS=${old.brokers}\n`);
          return 0;
        }
        fail(
          `broker pid ${old.pid} is running but not healthy after ${timeoutMs / 1000}s; ` +
            `see ${old.logFile}, or run "node scripts/kafka-broker.mjs stop" first.\n--- tail of ${old.logFile} ---\n${tail(old.logFile)}`,
        );
      }
      say(`removing stale state of broker pid ${old.pid} (not running)`);
      cleanupState(p, old);
    }

    checkJava();
    await ensureJars(p);
    const { port, controllerPort } = await choosePorts();
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), DATA_PREFIX));
    fs.writeFileSync(p.propsFile, serverProperties({ port, controllerPort, logDir }));

    const cp = `${p.jarDir}${path.sep}*`;
    const logOpts = [`-Dlog4j2.configurationFile=${LOG4J2}`];
    const toolJvm = [
      '-Xmx256m',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Djava.awt.headless=true',
      ...logOpts,
      '-cp',
      cp,
    ];
    const runTool = (args) => {
      const r = spawnSync(javaBin(), [...toolJvm, 'kafka.tools.StorageTool', ...args], { encoding: 'utf8' });
      if (r.error || r.status !== 0) {
        removeDataDir(logDir);
        fail(
          `StorageTool ${args[0]} failed (exit ${r.status}): ${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`.trim(),
        );
      }
      return r.stdout;
    };
    say('formatting storage');
    const clusterId = runTool(['random-uuid']).trim().split('\n').pop().trim();
    if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId))
      fail(`unexpected cluster id from StorageTool random-uuid: "${clusterId}"`);
    runTool(['format', '-t', clusterId, '-c', p.propsFile]);

    const heap = (process.env.SLIPWAY_KAFKA_HEAP || '-Xmx512m -Xms512m').split(/\s+/).filter(Boolean);
    const extra = (process.env.SLIPWAY_KAFKA_JAVA_OPTS || '').split(/\s+/).filter(Boolean);
    const jvm = [
      ...heap,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-Djava.awt.headless=true',
      ...logOpts,
      ...extra,
      '-cp',
      cp,
      'kafka.Kafka',
      p.propsFile,
    ];
    const logFd = fs.openSync(p.logFile, 'w');
    const child = spawn(javaBin(), jvm, { detached: true, stdio: ['ignore', logFd, logFd], cwd: p.stateDir });
    fs.closeSync(logFd);
    const spawnErr = await new Promise((resolve) => {
      child.once('error', resolve);
      child.once('spawn', () => resolve(null));
    });
    if (spawnErr) {
      removeDataDir(logDir);
      fail(`cannot start java: ${spawnErr.message}`);
    }
    let exited = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
    });
    child.unref();

    const brokers = `${HOST}:${port}`;
    const state = {
      pid: child.pid,
      brokers,
      port,
      controllerPort,
      logDir,
      logFile: p.logFile,
      stateDir: p.stateDir,
      propsFile: p.propsFile,
      jarDir: p.jarDir,
      clusterId,
      version: p.version,
      startedAt: new Date().toISOString(),
    };
    fs.writeFileSync(p.pidFile, `${child.pid}\n`);
    fs.writeFileSync(p.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    say(
      `started Kafka ${p.version} pid ${child.pid} on ${brokers} (controller ${controllerPort}); data ${logDir}; log ${p.logFile}`,
    );

    const ok = await waitHealthy(state, timeoutMs, () => exited);
    if (!ok) {
      const why = exited
        ? `broker process exited (code ${exited.code}, signal ${exited.signal}) before it became healthy`
        : `broker not healthy after ${timeoutMs / 1000}s`;
      await killBroker(state, true);
      cleanupState(p, state);
      fail(`${why}; stopped and cleaned up.\n--- tail of ${p.logFile} ---\n${tail(p.logFile)}`);
    }
    process.stdout.write(`KAFKA_BROKERS=${brokers}\n`);
    return 0;
  });
}

async function waitHealthy(state, timeoutMs, exitedFn) {
  const t0 = Date.now();
  let lastReport = 0;
  let lastErr = '';
  for (;;) {
    const dead = exitedFn ? exitedFn() : null;
    if (dead || !isOurBroker(state.pid, state)) return false;
    try {
      const desc = await probe(state.port);
      say(`healthy after ${((Date.now() - t0) / 1000).toFixed(1)}s: ${desc}`);
      return true;
    } catch (e) {
      lastErr = e.code || e.message;
    }
    const elapsed = Date.now() - t0;
    if (elapsed > timeoutMs) return false;
    if (elapsed - lastReport >= 5000) {
      lastReport = elapsed;
      say(`waiting for broker on ${state.brokers}... ${Math.round(elapsed / 1000)}s (${lastErr})`);
    }
    await sleep(500);
  }
}

async function killBroker(state, quiet = false) {
  const pid = state.pid;
  if (!isOurBroker(pid, state)) return false;
  const signal = (sig) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  if (!quiet) say(`stopping broker pid ${pid} (SIGTERM)`);
  signal('SIGTERM');
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(200);
  }
  say(`broker pid ${pid} still running after 15s; SIGKILL`);
  signal('SIGKILL');
  for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(100);
  return true;
}

async function cmdStop() {
  const p = paths();
  const state = readState(p);
  if (!state) {
    let pid = null;
    try {
      pid = Number(fs.readFileSync(p.pidFile, 'utf8').trim());
    } catch {
      /* none */
    }
    if (pid && isOurBroker(pid, null)) {
      await killBroker({ pid });
      rmQuiet(p.pidFile);
      say(`stopped broker pid ${pid} (state file was missing; data dir unknown)`);
      return 0;
    }
    say('no broker recorded; nothing to stop');
    cleanupState(p, null);
    return 0;
  }
  const wasRunning = await killBroker(state);
  cleanupState(p, state);
  rmQuiet(p.logFile);
  try {
    fs.rmdirSync(p.stateDir); // only if empty
  } catch {
    /* keep */
  }
  say(
    `${wasRunning ? `stopped broker pid ${state.pid}` : `broker pid ${state.pid} was not running`}; removed ${state.logDir} and state in ${p.stateDir}`,
  );
  return 0;
}

async function cmdStatus() {
  const p = paths();
  const state = readState(p);
  if (!state) {
    say('not running (no state file)');
    return 1;
  }
  if (!isOurBroker(state.pid, state)) {
    say(`not running (pid ${state.pid} from ${p.stateFile} is gone)`);
    return 1;
  }
  try {
    const desc = await probe(state.port);
    say(`running: pid ${state.pid}, ${desc}`);
  } catch (e) {
    say(`pid ${state.pid} is running but not healthy on ${state.brokers}: ${e.code || e.message}`);
    return 1;
  }
  process.stdout.write(`KAFKA_BROKERS=${state.brokers}\n`);
  return 0;
}

async function main(argv) {
  const cmd = argv[0];
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd ? 0 : 2;
  }
  if (argv.length > 1) {
    process.stderr.write(`unexpected arguments: ${argv.slice(1).join(' ')}\n\n${HELP}`);
    return 2;
  }
  switch (cmd) {
    case 'start':
      return cmdStart();
    case 'stop':
      return cmdStop();
    case 'status':
      return cmdStatus();
    default:
      process.stderr.write(`unknown command: ${cmd}\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof Fail) say(`error: ${e.message}`);
    else say(`unexpected error: ${e.stack || e}`);
    process.exit(1);
  },
);
