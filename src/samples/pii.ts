import type { JsonSchema } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';
import { walkFields } from './field-paths.js';
import { declaredPaths } from './schema-paths.js';

/** What a value can look like. */
export type PiiKind = 'email' | 'phone' | 'card';

const KIND_LABEL: Record<PiiKind, string> = {
  email: 'email addresses',
  phone: 'phone numbers',
  card: 'payment card numbers',
};

const SUGGESTED_RULE: Record<PiiKind, string> = {
  email: "{ fake: 'email' }",
  phone: "{ fake: 'phone' }",
  card: "'drop'",
};

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const E164 = /^\+[1-9]\d{7,14}$/;
// "+44 20 7946 0958", "(415) 555-0100", "415.555.0100", "0044 20 7946 0958": groups of digits with separators.
const PHONE_FORMATTED = /^(?:\+|00)?(?:\d{1,4}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,4}$/;
// A phone number inside free text: only the unambiguous international form (leading +).
const PHONE_IN_TEXT = /(?:^|[^\w+])\+[1-9][\d\s().-]{7,20}\d/;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{1,3}(?:\.\d{1,3}){3}$|^\d{1,2}:\d{2}/;
// Card numbers as printed: one run of 13–19 digits, or groups of 4 (4-4-4-4[-3]) or 4-6-5 (Amex) with one
// separator kind; not any digits with dashes between them (ids like order-2026-000001234 are not cards).
const CARD_CANDIDATE =
  /(?<!\d)(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})(?![\d])/g;

/** The Luhn checksum that every payment card number passes. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** 13–19 digits, an issuer's first digit (2–6: Mastercard, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay), Luhn. */
function isCardNumber(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  const first = digits.charCodeAt(0) - 48;
  return first >= 2 && first <= 6 && luhnValid(digits);
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/**
 * Which kinds of personal data a single value looks like (empty when none). Strings and whole numbers.
 *
 * @example
 * detectPii('+44 20 7946 0958')   // ['phone']
 */
export function detectPii(value: unknown): PiiKind[] {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 && isCardNumber(String(value)) ? ['card'] : [];
  }
  if (typeof value !== 'string' || value.length < 7) return [];
  const found: PiiKind[] = [];
  if (value.includes('@') && EMAIL.test(value)) found.push('email');
  const digits = countDigits(value);
  if (digits >= 7) {
    const trimmed = value.trim();
    if (
      (digits <= 15 &&
        (E164.test(trimmed) ||
          (PHONE_FORMATTED.test(trimmed) && /[\s.()+-]/.test(trimmed) && !DATE_LIKE.test(trimmed)))) ||
      (value.includes('+') && PHONE_IN_TEXT.test(value))
    ) {
      found.push('phone');
    }
    if (digits >= 13) {
      CARD_CANDIDATE.lastIndex = 0;
      for (const m of value.matchAll(CARD_CANDIDATE)) {
        if (isCardNumber(m[0].replace(/[ -]/g, ''))) {
          found.push('card');
          break;
        }
      }
    }
  }
  return found;
}

/** One field that looks like personal data. Never carries the values themselves. */
export interface PiiFinding {
  path: string;
  kind: PiiKind;
  /** Values of the field that looked like `kind`. 0 for a finding from the schema (`format: email`). */
  count: number;
  /** Values of the field examined. */
  examined: number;
  /** `values` (seen in the data) or `schema` (declared `format: email`). */
  source: 'values' | 'schema';
}

export interface PiiScanOptions {
  /** Paths the scan skips with everything below them (masked or allowed fields). */
  isDeclared?: (path: string) => boolean;
  /** The record schema: fields declared `format: "email"` count as personal data even with no value seen. */
  schema?: JsonSchema;
}

/**
 * Scans records for fields that look like personal data: emails, phone numbers (E.164 and common
 * formats), payment card numbers (13–19 digits passing Luhn), in every string field, nested ones too.
 *
 * @example
 * const findings = scanForPii(records, { isDeclared: masker.isDeclared, schema: dataset.schema })
 * assertNoPii(findings, dataset.topic)
 */
export function scanForPii(records: readonly unknown[], options: PiiScanOptions = {}): PiiFinding[] {
  const declared = options.isDeclared ?? (() => false);
  const hits = new Map<string, { examined: number; kinds: Map<PiiKind, number> }>();
  for (const record of records) {
    walkFields(record, (path, value) => {
      if (declared(path)) return false;
      if (typeof value !== 'string' && typeof value !== 'number') return undefined;
      let entry = hits.get(path);
      if (entry === undefined) {
        entry = { examined: 0, kinds: new Map() };
        hits.set(path, entry);
      }
      entry.examined++;
      for (const kind of detectPii(value)) entry.kinds.set(kind, (entry.kinds.get(kind) ?? 0) + 1);
      return undefined;
    });
  }
  const findings: PiiFinding[] = [];
  for (const [path, entry] of hits) {
    for (const [kind, count] of entry.kinds)
      findings.push({ path, kind, count, examined: entry.examined, source: 'values' });
  }
  if (options.schema !== undefined) {
    for (const [path, sub] of declaredPaths(options.schema)) {
      if (sub.format !== 'email' || declared(path)) continue;
      if (findings.some((f) => f.path === path && f.kind === 'email')) continue;
      findings.push({ path, kind: 'email', count: 0, examined: hits.get(path)?.examined ?? 0, source: 'schema' });
    }
  }
  return findings.sort((a, b) => a.path.localeCompare(b.path) || a.kind.localeCompare(b.kind));
}

/**
 * Throws `SLIPWAY_PII_UNMASKED` when any finding is left: names each field and what it looked like,
 * never the values, and says how to declare it.
 */
export function assertNoPii(findings: readonly PiiFinding[], dataset: string): void {
  if (findings.length === 0) return;
  const lines = findings
    .slice(0, 8)
    .map((f) =>
      f.source === 'schema'
        ? `'${f.path}' is declared format "email" in the schema`
        : `'${f.path}': ${f.count} of ${f.examined} values look like ${KIND_LABEL[f.kind]}`,
    );
  if (findings.length > 8) lines.push(`… and ${findings.length - 8} more`);
  const byPath = new Map(findings.map((f) => [f.path, f.kind]));
  const example = [...byPath]
    .slice(0, 3)
    .map(([p, kind]) => `'${p}': ${SUGGESTED_RULE[kind]}`)
    .join(', ');
  throw new SlipwayError(
    'SLIPWAY_PII_UNMASKED',
    `Capture stopped: fields of ${dataset} look like personal data and have no masking rule: ${lines.join('; ')}. ` +
      `Nothing was written. Add a rule for each to the dataset's masking, e.g. defineMasking({ dataset, rules: { ${example} } }) ` +
      `('drop', 'redact' and 'hash' work too), or list the field in allowUnmasked if it is not personal data.`,
    {
      details: {
        dataset,
        findings: findings.map((f) => ({ path: f.path, kind: f.kind, count: f.count, source: f.source })),
      },
    },
  );
}
