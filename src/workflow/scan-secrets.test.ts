import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAllowList, SECRETS_ALLOW_FILE, scanFiles, scanSources } from './scan-secrets.js';

// Made-up secrets, put together at run time so this file itself holds none.
const GITHUB = ['ghp', 'R2d2C3poL8k9ZxQwErTyUiOpAsDfGhJkLzXc'].join('_');
const SASL = ['Kf4', 's3cret', 'Pa55'].join('-');
const DB_PASSWORD = ['Sup3r', 'S3cret'].join('');

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'slipway-secrets-'));
  dirs.push(d);
  return d;
}

describe('scanSources', () => {
  it('finds what pipelines carry: SASL passwords, database URLs with passwords, .env values, tokens', async () => {
    const findings = await scanSources([
      {
        file: 'client.ts',
        content: `export const c = { sasl: { mechanism: 'plain', username: 'u', password: '${SASL}' } };\n`,
      },
      {
        file: 'jaas.properties',
        content: `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="${SASL}";\n`,
      },
      { file: 'db.ts', content: `const url = 'mysql://app:${DB_PASSWORD}@db:3306/orders';\n` },
      { file: 'config/.env.production', content: `API_KEY=${DB_PASSWORD}\n` },
      { file: 'token.ts', content: `const t = '${GITHUB}';\n` },
    ]);
    const rules = new Set(findings.map((f) => `${f.file} ${f.rule}`));
    assert.ok(rules.has('client.ts slipway/kafka-sasl-password'), [...rules].join('\n'));
    assert.ok(rules.has('jaas.properties slipway/kafka-sasl-password'));
    assert.ok(rules.has('db.ts slipway/database-url-password'));
    assert.ok(rules.has('config/.env.production slipway/dotenv-file'));
    assert.ok(rules.has('token.ts @secretlint/secretlint-rule-github'));
    for (const f of findings)
      assert.ok(!f.message.includes(SASL) && !f.message.includes(GITHUB), 'messages mask secrets');
  });

  it('leaves references alone: environment variables, placeholders, .env.example', async () => {
    const findings = await scanSources([
      {
        file: 'client.ts',
        content: "const c = { sasl: { mechanism: 'plain', username: 'u', password: process.env.KAFKA_PASSWORD } };\n",
      },
      { file: 'db.ts', content: `const url = 'postgres://app:' + process.env.PGPASSWORD + '@db/orders';\n` },
      { file: '.env.example', content: ['KAFKA_SASL_PASSWORD=', 'API_KEY=<your key>', ''].join('\n') },
    ]);
    assert.deepEqual(findings, []);
  });

  it('gives a finding the same fingerprint when lines move, and another when the secret changes', async () => {
    const [a] = await scanSources([{ file: 't.ts', content: `const t = '${GITHUB}';\n` }]);
    const [b] = await scanSources([{ file: 't.ts', content: `\n\n// moved\nconst t = '${GITHUB}';\n` }]);
    const [c] = await scanSources([{ file: 't.ts', content: `const t = '${GITHUB.replace('R2', 'Q7')}';\n` }]);
    assert.equal(a?.fingerprint, b?.fingerprint);
    assert.notEqual(a?.fingerprint, c?.fingerprint);
  });
});

describe('scanFiles', () => {
  it('allows a finding by fingerprint (with a reason) and still reports the others', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.ts'), `const t = '${GITHUB}';\n`);
    writeFileSync(join(dir, 'b.ts'), `const url = 'postgres://app:${DB_PASSWORD}@db/orders';\n`);
    const before = await scanFiles({ cwd: dir });
    const tokenFinding = before.findings.find((f) => f.file === 'a.ts');
    assert.ok(tokenFinding);
    writeFileSync(
      join(dir, SECRETS_ALLOW_FILE),
      JSON.stringify({ allow: [{ fingerprint: tokenFinding.fingerprint, reason: 'a test fixture' }] }),
    );
    const afterAllow = await scanFiles({ cwd: dir });
    assert.ok(afterAllow.findings.filter((f) => f.file === 'a.ts').every((f) => f.allowed));
    assert.ok(afterAllow.findings.some((f) => f.file === 'b.ts' && !f.allowed));
  });

  it('refuses an allow entry without a reason', () => {
    const dir = tempDir();
    writeFileSync(join(dir, SECRETS_ALLOW_FILE), JSON.stringify({ allow: [{ fingerprint: '0123456789abcdef' }] }));
    assert.throws(() => loadAllowList(dir), { code: 'SLIPWAY_SECRETS_ALLOW_INVALID' });
  });

  it('scans what is staged, not the work tree', async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q'], { cwd: dir });
    writeFileSync(join(dir, 'a.ts'), `const t = '${GITHUB}';\n`);
    execFileSync('git', ['add', 'a.ts'], { cwd: dir });
    writeFileSync(join(dir, 'a.ts'), 'const t = process.env.TOKEN;\n'); // cleaned in the work tree only
    writeFileSync(join(dir, 'b.ts'), `const t = '${GITHUB}';\n`); // not staged
    const staged = await scanFiles({ cwd: dir, staged: true });
    assert.equal(staged.scanned, 1);
    assert.deepEqual(
      staged.findings.map((f) => f.file),
      ['a.ts'],
    );
  });
});
