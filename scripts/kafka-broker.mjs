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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fail, fail, HOST, rmQuiet, say, sleep } from './kafka/common.mjs';
import { HELP } from './kafka/help.mjs';
import { ensureJars, POM } from './kafka/jars.mjs';
import { choosePorts } from './kafka/ports.mjs';
import { probe } from './kafka/probe.mjs';
import {
  prepareSecured,
  securedFormatArgs,
  securedLines,
  securedListeners,
  securedPortOpen,
  securedProperties,
  securedState,
  securedWanted,
} from './kafka/secured.mjs';
import { stateDir as chosenStateDir } from './kafka/state.mjs';

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const LOG4J2 = path.join(SCRIPT_DIR, 'kafka', 'log4j2.xml');
const DATA_PREFIX = 'slipway-kafka-data-';

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
  const stateDir = chosenStateDir();
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

// Only delete data dirs that this script created.
function removeDataDir(dir) {
  if (dir && path.basename(dir).startsWith(DATA_PREFIX)) rmQuiet(dir);
}

function cleanupState(p, state) {
  removeDataDir(state?.logDir);
  if (state?.secured?.dir && path.basename(state.secured.dir) === 'tls') rmQuiet(state.secured.dir);
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

function serverProperties({ port, controllerPort, logDir, secured }) {
  const l = securedListeners(port, controllerPort, secured);
  return `# Written by scripts/kafka-broker.mjs: single-node KRaft broker for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${controllerPort}
listeners=${l.listeners}
advertised.listeners=${l.advertised}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=${l.map}
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
${secured === null ? '' : securedProperties(secured)}`;
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
        if (ok && securedWanted() && old.secured === undefined)
          fail(
            `the running broker (pid ${old.pid}) has no SASL_SSL listener; stop it first ("node scripts/kafka-broker.mjs stop") to start one with SLIPWAY_KAFKA_SECURED=1.`,
          );
        if (ok) {
          say(`already running and healthy: ${old.brokers} (pid ${old.pid})`);
          process.stdout.write(`KAFKA_BROKERS=${old.brokers}\n${securedLines(old)}`);
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
    // The data lives in the state folder too: one checkout's broker, one folder to look at or remove.
    const logDir = fs.mkdtempSync(path.join(p.stateDir, DATA_PREFIX));
    const secured = securedWanted() ? await prepareSecured(p.stateDir, [port, controllerPort]) : null;
    if (secured !== null) say(`SASL_SSL listener on ${secured.brokers}; certificates in ${secured.dir}`);
    fs.writeFileSync(p.propsFile, serverProperties({ port, controllerPort, logDir, secured }));

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
    runTool(['format', '-t', clusterId, '-c', p.propsFile, ...(secured === null ? [] : securedFormatArgs(secured))]);

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
      ...(secured === null ? {} : { secured: securedState(secured) }),
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
    process.stdout.write(`KAFKA_BROKERS=${brokers}\n${securedLines(state)}`);
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
      if (state.secured !== undefined && !(await securedPortOpen(state.secured)))
        throw new Error('SASL_SSL port closed');
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
  process.stdout.write(`KAFKA_BROKERS=${state.brokers}\n${securedLines(state)}`);
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
