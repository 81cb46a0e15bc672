import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { SecretLintCoreConfig } from '@secretlint/types';
import { SlipwayError } from '../errors.js';
import { SLIPWAY_SECRET_RULES } from './secret-rules.js';

/** The committed file that allows findings by fingerprint (never by turning the scan off). */
export const SECRETS_ALLOW_FILE = 'secrets-allow.json';

/** Files larger than this are not scanned (data dumps, not code or config). */
const MAX_BYTES = 4 * 1024 * 1024;
/** Folders a scan of a tree does not enter (outside a git work tree, which lists its own files). */
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', '.slipway']);

/** One secret found in one file. */
export interface SecretFinding {
  /** The file, relative to the scan's folder, with `/` separators. */
  file: string;
  line: number;
  column: number;
  /** The rule that found it: `@secretlint/secretlint-rule-aws`, `slipway/kafka-sasl-password`… */
  rule: string;
  message: string;
  /**
   * Names this finding (rule, file and the secret itself, hashed): stable when lines move, different when
   * the secret changes. Allow it in {@link SECRETS_ALLOW_FILE} when it is not a secret.
   */
  fingerprint: string;
  /** True when the allow file lists the fingerprint; such findings do not fail a scan. */
  allowed: boolean;
}

export interface AllowEntry {
  fingerprint: string;
  /** Why it is not a secret: required, so an allowance is always explained in review. */
  reason: string;
}

export interface ScanResult {
  findings: SecretFinding[];
  /** How many files were read. */
  scanned: number;
}

/** secretlint and its rules, loaded on the first scan: most commands never scan, and the import is slow. */
let scanner:
  | Promise<{ lintSource: typeof import('@secretlint/core').lintSource; config: SecretLintCoreConfig }>
  | undefined;

function loadScanner(): NonNullable<typeof scanner> {
  scanner ??= Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]).then(
    ([core, preset]) => ({
      lintSource: core.lintSource,
      config: {
        rules: [
          { id: '@secretlint/secretlint-rule-preset-recommend', rule: preset.creator },
          ...SLIPWAY_SECRET_RULES.map((rule) => ({ id: rule.meta.id, rule })),
        ],
      },
    }),
  );
  return scanner;
}

function fingerprintOf(rule: string, file: string, secret: string): string {
  return createHash('sha256').update(`${rule}\0${file}\0${secret}`).digest('hex').slice(0, 16);
}

/**
 * Reads the allow file of `dir` (none: nothing allowed). Each entry needs a fingerprint and a reason.
 *
 * @example
 * const allow = loadAllowList(process.cwd()) // [{ fingerprint: '9f2c…', reason: 'test fixture' }]
 */
export function loadAllowList(dir: string): AllowEntry[] {
  const path = join(dir, SECRETS_ALLOW_FILE);
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw invalidAllow(path, `it is not JSON (${(err as Error).message})`, err);
  }
  const list = (parsed as { allow?: unknown }).allow;
  if (!Array.isArray(list)) throw invalidAllow(path, 'it needs an "allow" array');
  return list.map((entry, i) => {
    const e = entry as Partial<AllowEntry>;
    if (typeof e.fingerprint !== 'string' || !/^[0-9a-f]{16}$/.test(e.fingerprint))
      throw invalidAllow(path, `allow[${i}].fingerprint must be the 16 hex digits a scan prints`);
    if (typeof e.reason !== 'string' || e.reason.trim() === '')
      throw invalidAllow(path, `allow[${i}].reason must say why this is not a secret`);
    return { fingerprint: e.fingerprint, reason: e.reason };
  });
}

function invalidAllow(path: string, what: string, cause?: unknown): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_SECRETS_ALLOW_INVALID',
    `${path}: ${what}. Write {"allow": [{"fingerprint": "<from the scan>", "reason": "<why it is not a secret>"}]}.`,
    { details: { path }, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Scans text sources (a file's content, a bundle) for secrets with secretlint's recommended preset and
 * Slipway's rules (Kafka SASL passwords, database URLs with passwords, `.env` files).
 *
 * @example
 * const findings = await scanSources([{ file: 'bundle.js', content }], loadAllowList(cwd))
 * if (findings.some((f) => !f.allowed)) refuse()
 */
export async function scanSources(
  sources: Array<{ file: string; content: string }>,
  allow: AllowEntry[] = [],
): Promise<SecretFinding[]> {
  const allowed = new Set(allow.map((a) => a.fingerprint));
  const findings: SecretFinding[] = [];
  const { lintSource, config } = await loadScanner();
  for (const { file, content } of sources) {
    const result = await lintSource({
      source: { content, filePath: file, contentType: 'text' },
      options: { config, maskSecrets: true },
    });
    for (const m of result.messages) {
      const fingerprint = fingerprintOf(m.ruleId, file, content.slice(m.range[0], m.range[1]));
      findings.push({
        file,
        line: m.loc.start.line,
        column: m.loc.start.column + 1,
        rule: m.ruleId,
        message: m.message,
        fingerprint,
        allowed: allowed.has(fingerprint),
      });
    }
  }
  return findings;
}

export interface ScanFilesOptions {
  /** The project folder: paths are relative to it, and its allow file applies. Default: the working directory. */
  cwd?: string;
  /** Files or folders to scan (default: the whole project). In a git work tree, ignored files are left out. */
  paths?: string[];
  /** Scan what is staged for the next commit (the index's content), not the work tree: for a pre-commit hook. */
  staged?: boolean;
}

/**
 * Scans files for secrets: the project's tree (git's tracked and unignored files, else every file outside
 * node_modules, .git, dist and .slipway), the named paths, or the staged changes.
 *
 * @example
 * const { findings } = await scanFiles({ staged: true })
 */
export async function scanFiles(options: ScanFilesOptions = {}): Promise<ScanResult> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const allow = loadAllowList(cwd);
  const sources = options.staged === true ? stagedSources(cwd) : treeSources(cwd, options.paths ?? ['.']);
  const findings = await scanSources(sources, allow);
  return { findings, scanned: sources.length };
}

function isText(buf: Buffer): boolean {
  return buf.byteLength <= MAX_BYTES && !buf.subarray(0, 8000).includes(0);
}

function git(cwd: string, args: string[]): Buffer | undefined {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

function stagedSources(cwd: string): Array<{ file: string; content: string }> {
  const top = git(cwd, ['rev-parse', '--show-toplevel'])?.toString().trim();
  if (top === undefined)
    throw new SlipwayError('SLIPWAY_USAGE', `--staged needs a git work tree, and ${cwd} is not in one.`);
  const names = git(top, ['diff', '--cached', '--name-only', '--diff-filter=ACMR', '-z'])?.toString() ?? '';
  const out: Array<{ file: string; content: string }> = [];
  for (const name of names.split('\0').filter(Boolean)) {
    const content = git(top, ['show', `:${name}`]);
    if (content === undefined || !isText(content)) continue;
    out.push({ file: relative(cwd, join(top, name)).split(sep).join('/'), content: content.toString('utf8') });
  }
  return out;
}

function treeSources(cwd: string, paths: string[]): Array<{ file: string; content: string }> {
  const files = new Set<string>();
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (!existsSync(abs))
      throw new SlipwayError('SLIPWAY_FILE_NOT_FOUND', `${p} does not exist (looked at ${abs}).`, {
        details: { path: abs },
      });
    if (!statSync(abs).isDirectory()) {
      files.add(abs);
      continue;
    }
    const listed = git(abs, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.']);
    if (listed !== undefined) {
      for (const f of listed.toString().split('\0').filter(Boolean)) files.add(join(abs, f));
    } else {
      for (const f of walk(abs)) files.add(f);
    }
  }
  const out: Array<{ file: string; content: string }> = [];
  for (const abs of [...files].sort()) {
    if (!existsSync(abs) || !statSync(abs).isFile()) continue; // deleted in the work tree
    const content = readFileSync(abs);
    if (!isText(content)) continue;
    out.push({ file: relative(cwd, abs).split(sep).join('/'), content: content.toString('utf8') });
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...walk(join(dir, entry.name)));
    } else if (entry.isFile()) out.push(join(dir, entry.name));
  }
  return out;
}

/** `file:line:column  rule  message  (fingerprint …)`: how the CLI and the build print a finding. */
export function formatFinding(f: SecretFinding): string {
  return `${f.file}:${f.line}:${f.column}  ${f.rule}  ${f.message}  (fingerprint ${f.fingerprint}${f.allowed ? ', allowed' : ''})`;
}
