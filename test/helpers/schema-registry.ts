/**
 * Finds the schema registry for tests: `SCHEMA_REGISTRY_URL` (CI starts one), or else starts this checkout's with
 * `node scripts/schema-registry.mjs start` (idempotent; it stays up until `node scripts/schema-registry.mjs stop`).
 * Never skips: no registry is a test failure.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/schema-registry.mjs', import.meta.url));

export function schemaRegistryUrl(): string {
  const fromEnv = process.env.SCHEMA_REGISTRY_URL?.trim();
  if (fromEnv) return fromEnv;
  const stdout = execFileSync(process.execPath, [SCRIPT, 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('SCHEMA_REGISTRY_URL='));
  if (!line) throw new Error(`${SCRIPT} start printed no SCHEMA_REGISTRY_URL line:\n${stdout}`);
  return line.slice('SCHEMA_REGISTRY_URL='.length).trim();
}
