#!/usr/bin/env node
// Slipway test helper: a real Apicurio Registry (Confluent-compatible API) built from Maven Central artifacts
// (scripts/schema-registry/pom.xml) and run as one JVM with in-memory (H2) storage. Plain Node 20 ESM, no npm deps.
//
//   node scripts/schema-registry.mjs start   # prints SCHEMA_REGISTRY_URL=http://127.0.0.1:<port>/apis/ccompat/v7
//   node scripts/schema-registry.mjs stop    # SIGTERM (15 s) then SIGKILL; removes the state folder
//
// Environment: SLIPWAY_SCHEMA_REGISTRY_CACHE (build cache, default ~/.cache/slipway/schema-registry-<hash>),
// SLIPWAY_SCHEMA_REGISTRY_STATE (state folder), SLIPWAY_SCHEMA_REGISTRY_TIMEOUT (start timeout in s, default 300),
// MVN, JAVA_HOME.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schema-registry');
const RUNNER = 'slipway-schema-registry-0.0.0-runner.jar';
const MARKER = '.slipway-complete';

const say = (m) => process.stderr.write(`[schema-registry] ${m}\n`);
class Fail extends Error {}
const fail = (m) => {
  throw new Fail(m);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rmQuiet = (p) => fs.rmSync(p, { recursive: true, force: true });

/** Every file of scripts/schema-registry, hashed: a change to the build rebuilds the cache. */
function sourceHash() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else h.update(path.relative(SRC, f)).update('\0').update(fs.readFileSync(f)).update('\0');
    }
  };
  walk(SRC);
  return h.digest('hex').slice(0, 12);
}

function paths() {
  const hash = sourceHash();
  const cacheRoot = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const cacheDir = path.resolve(
    process.env.SLIPWAY_SCHEMA_REGISTRY_CACHE || path.join(cacheRoot, 'slipway', `schema-registry-${hash}`),
  );
  const checkout = fs.realpathSync(path.resolve(SRC, '..', '..'));
  const tag = createHash('sha256').update(checkout).digest('hex').slice(0, 12);
  const stateDir = path.resolve(
    process.env.SLIPWAY_SCHEMA_REGISTRY_STATE || path.join(os.tmpdir(), `slipway-schema-registry-${tag}`),
  );
  return {
    hash,
    cacheDir,
    stateDir,
    stateFile: path.join(stateDir, 'state.json'),
    logFile: path.join(stateDir, 'registry.log'),
  };
}

function built(p) {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(p.cacheDir, MARKER), 'utf8'));
    return m.sourceHash === p.hash && fs.existsSync(path.join(p.cacheDir, RUNNER));
  } catch {
    return false;
  }
}

/** Builds the registry with Maven into a temp folder, then moves the runner jar and lib/ into the cache. */
async function ensureBuilt(p) {
  if (built(p)) return say(`build: ${p.cacheDir} (cached)`);
  fs.mkdirSync(path.dirname(p.cacheDir), { recursive: true });
  const tmp = `${p.cacheDir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  rmQuiet(tmp);
  fs.cpSync(SRC, path.join(tmp, 'build'), { recursive: true });
  const mvn = process.env.MVN || 'mvn';
  const args = [
    '-q',
    '-B',
    '-s',
    path.join(SRC, 'settings.xml'),
    '-f',
    path.join(tmp, 'build', 'pom.xml'),
    'package',
    '-DskipTests',
  ];
  say(`build: Apicurio Registry with ${mvn} into ${p.cacheDir} (first run only; takes minutes)`);
  const t0 = Date.now();
  const res = await new Promise((resolve) => {
    const child = spawn(mvn, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d) => {
      out = (out + d).slice(-20000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const ticker = setInterval(() => say(`build: still running... ${Math.round((Date.now() - t0) / 1000)}s`), 30000);
    child.on('error', (err) => {
      clearInterval(ticker);
      resolve({ err, out });
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      resolve({ code, out });
    });
  });
  const target = path.join(tmp, 'build', 'target');
  if (res.err || res.code !== 0 || !fs.existsSync(path.join(target, RUNNER))) {
    rmQuiet(tmp);
    if (res.err) fail(`cannot run Maven (${mvn}): ${res.err.message}. Install Maven or set MVN.`);
    fail(`Maven failed (exit ${res.code}) building the registry:\n${res.out.trim().split('\n').slice(-40).join('\n')}`);
  }
  fs.renameSync(path.join(target, RUNNER), path.join(tmp, RUNNER));
  fs.renameSync(path.join(target, 'lib'), path.join(tmp, 'lib'));
  rmQuiet(path.join(tmp, 'build'));
  fs.writeFileSync(path.join(tmp, MARKER), `${JSON.stringify({ sourceHash: p.hash, at: new Date().toISOString() })}\n`);
  if (built(p)) rmQuiet(tmp);
  else {
    rmQuiet(p.cacheDir);
    fs.renameSync(tmp, p.cacheDir);
  }
  say(`build: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

function readState(p) {
  try {
    return JSON.parse(fs.readFileSync(p.stateFile, 'utf8'));
  } catch {
    return null;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

const urlOf = (port) => `http://${HOST}:${port}/apis/ccompat/v7`;

async function answers(url) {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(3000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const tail = (file) => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-40).join('\n');
  } catch {
    return '(no log)';
  }
};

async function cmdStart() {
  const p = paths();
  const old = readState(p);
  if (old && alive(old.pid) && (await answers(urlOf(old.port)))) {
    say(`already running (pid ${old.pid})`);
    process.stdout.write(`SCHEMA_REGISTRY_URL=${urlOf(old.port)}\n`);
    return;
  }
  if (old && alive(old.pid)) await killPid(old.pid);
  rmQuiet(p.stateDir);
  await ensureBuilt(p);
  fs.mkdirSync(p.stateDir, { recursive: true });
  const port = await freePort();
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const jvm = [
    '-Xmx512m',
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Dquarkus.http.host=${HOST}`,
    `-Dquarkus.http.port=${port}`,
    '-Dquarkus.log.level=WARN',
    '-jar',
    path.join(p.cacheDir, RUNNER),
  ];
  const logFd = fs.openSync(p.logFile, 'a');
  const child = spawn(java, jvm, { detached: true, stdio: ['ignore', logFd, logFd], cwd: p.stateDir });
  const spawnErr = await new Promise((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(null));
  });
  fs.closeSync(logFd);
  if (spawnErr) fail(`cannot start java: ${spawnErr.message}`);
  child.unref();
  fs.writeFileSync(p.stateFile, `${JSON.stringify({ pid: child.pid, port })}\n`);
  const timeoutMs = Number(process.env.SLIPWAY_SCHEMA_REGISTRY_TIMEOUT || 300) * 1000;
  const t0 = Date.now();
  while (!(await answers(urlOf(port)))) {
    if (!alive(child.pid)) {
      rmQuiet(p.stateDir);
      fail(`the registry exited while starting.\n--- tail of its log ---\n${tail(p.logFile)}`);
    }
    if (Date.now() - t0 > timeoutMs) {
      await killPid(child.pid);
      fail(
        `the registry did not answer within ${timeoutMs / 1000}s; stopped.\n--- tail of its log ---\n${tail(p.logFile)}`,
      );
    }
    await sleep(500);
  }
  // Confluent's default compatibility level (Apicurio's ccompat default is NONE).
  const res = await fetch(`${urlOf(port)}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  if (!res.ok) fail(`setting the global compatibility level failed: HTTP ${res.status} ${await res.text()}`);
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid}, log ${p.logFile})`);
  process.stdout.write(`SCHEMA_REGISTRY_URL=${urlOf(port)}\n`);
}

async function killPid(pid) {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
  }
  for (let i = 0; i < 150 && alive(pid); i++) await sleep(100);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function cmdStop() {
  const p = paths();
  const st = readState(p);
  if (!st) return say('no registry recorded; nothing to stop');
  if (alive(st.pid)) await killPid(st.pid);
  rmQuiet(p.stateDir);
  say(`stopped registry pid ${st.pid}`);
}

const cmd = process.argv[2];
try {
  if (cmd === 'start') await cmdStart();
  else if (cmd === 'stop') await cmdStop();
  else {
    process.stderr.write('usage: node scripts/schema-registry.mjs start|stop\n');
    process.exit(2);
  }
} catch (e) {
  if (e instanceof Fail) {
    say(e.message);
    process.exit(1);
  }
  throw e;
}
