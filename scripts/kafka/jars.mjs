// The Kafka jars: fetched once from Maven Central (scripts/kafka/pom.xml) into a cache folder.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, rmQuiet, say } from './common.mjs';

export const POM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pom.xml');
const MARKER = '.slipway-complete';

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

export async function ensureJars(p) {
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
