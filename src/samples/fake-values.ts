import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The kinds of fake value a masking rule can ask for. All but `id` and `int` come from @snaplet/copycat,
 * fed with an HMAC of the original value (see masking.ts), so they are deterministic per secret key.
 */
export const FAKE_KINDS = [
  'email',
  'fullName',
  'firstName',
  'lastName',
  'username',
  'phone',
  'uuid',
  'streetAddress',
  'city',
  'country',
  'postalAddress',
  'ipv4',
  'url',
  'id',
  'int',
] as const;

export type FakeKind = (typeof FAKE_KINDS)[number];

/** A fake value maker: takes the hex HMAC of the original value. */
export type FakeMaker = (hmacHex: string) => string | number;

type CopycatFn = (input: string, options?: Record<string, unknown>) => string;

interface Copycat {
  email: CopycatFn;
  fullName: CopycatFn;
  firstName: CopycatFn;
  lastName: CopycatFn;
  username: CopycatFn;
  phoneNumber: CopycatFn;
  uuid: CopycatFn;
  streetAddress: CopycatFn;
  city: CopycatFn;
  country: CopycatFn;
  postalAddress: CopycatFn;
  ipv4: CopycatFn;
  url: CopycatFn;
}

let copycatPromise: Promise<Copycat> | undefined;

/**
 * Loads copycat on first use. Its package entry also re-exports all of faker (every locale: ~1.4 s to load);
 * its `dist/copycat.js` holds the same functions with the English data only (~0.2 s), so that file is loaded
 * when present, and the public entry otherwise.
 */
export function loadCopycat(): Promise<Copycat> {
  copycatPromise ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const lean = require(join(dirname(require.resolve('@snaplet/copycat')), 'copycat.js')) as Partial<Copycat>;
      if (typeof lean.email === 'function' && typeof lean.phoneNumber === 'function') return lean as Copycat;
    } catch {
      // Another layout of the package: use its public entry.
    }
    const m = await import('@snaplet/copycat');
    return m.copycat as unknown as Copycat;
  })();
  return copycatPromise;
}

let copycatVersion: string | undefined;

/** `@snaplet/copycat@<version>`: recorded in sample manifests, since another copycat may fake differently. */
export function fakerVersion(): string {
  if (copycatVersion === undefined) {
    try {
      const entry = createRequire(import.meta.url).resolve('@snaplet/copycat');
      const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
      copycatVersion = `@snaplet/copycat@${pkg.version}`;
    } catch {
      copycatVersion = '@snaplet/copycat@unknown';
    }
  }
  return copycatVersion;
}

/** Options of the fake rules that take any. */
export interface FakeOptions {
  /** `email`: the domain of fake addresses (default `example.com`, reserved, so no real inbox gets test mail). */
  domain?: string;
  /** `id`: text put before the hex digits (e.g. `cust_`). */
  prefix?: string;
  /** `id`: hex digits (default 16, i.e. 64 bits: collisions are negligible, so joins stay exact). */
  length?: number;
  /** `int`: the range of fake whole numbers, inclusive. */
  min?: number;
  max?: number;
}

/** Builds the maker of one fake kind. */
export function fakeMaker(kind: FakeKind, options: FakeOptions, copycat: Copycat | undefined): FakeMaker {
  if (kind === 'id') {
    const prefix = options.prefix ?? '';
    const length = options.length ?? 16;
    return (h) => prefix + h.slice(0, length);
  }
  if (kind === 'int') {
    const min = options.min ?? 0;
    const span = (options.max ?? 1_000_000) - min + 1;
    return (h) => min + (Number.parseInt(h.slice(0, 13), 16) % span);
  }
  if (copycat === undefined) throw new Error(`copycat is needed for fake '${kind}'`);
  switch (kind) {
    case 'email': {
      const domain = options.domain ?? 'example.com';
      return (h) => copycat.email(h, { domain });
    }
    case 'phone':
      return (h) => copycat.phoneNumber(h);
    default: {
      const fn = copycat[kind];
      return (h) => fn(h);
    }
  }
}

/** True when the kind needs copycat loaded. */
export function needsCopycat(kind: FakeKind): boolean {
  return kind !== 'id' && kind !== 'int';
}
