import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { SlipwayError } from '../errors.js';

/** Where a secret's value is: an environment variable or a file of the runner's machine — never the value. */
export type SecretReference = { env: string } | { file: string };

/** A reference as text for messages: `env:NAME` or `file:/path`. Never a value. */
export function describeSecretRef(ref: SecretReference): string {
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
}

/**
 * The secrets a pipeline's `process` reads (`ctx.secrets.get('db-password')`), resolved in the runner
 * process when it starts. The values never leave it: printing, logging or serializing this object
 * shows the names only.
 */
export interface Secrets {
  /** The value of a declared secret; an undeclared name throws `SLIPWAY_SECRET_MISSING` naming the declared ones. */
  get(name: string): string;
  has(name: string): boolean;
  /** The declared names. */
  names(): string[];
}

class ResolvedSecrets implements Secrets {
  readonly #values: ReadonlyMap<string, string>;
  constructor(values: ReadonlyMap<string, string>) {
    this.#values = values;
  }
  get(name: string): string {
    const value = this.#values.get(name);
    if (value === undefined) {
      throw new SlipwayError(
        'SLIPWAY_SECRET_MISSING',
        `No secret '${name}' is declared for this pipeline here (declared: ${this.names().join(', ') || 'none'}). Declare it under secrets of the pipeline in the environment (slipway.config.ts).`,
        { details: { secret: name } },
      );
    }
    return value;
  }
  has(name: string): boolean {
    return this.#values.has(name);
  }
  names(): string[] {
    return [...this.#values.keys()].sort();
  }
  toJSON(): { secrets: string[] } {
    return { secrets: this.names() };
  }
  toString(): string {
    return `[secrets: ${this.names().join(', ')}]`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/** No secrets: what `ctx.secrets` is when none are declared. */
export const NO_SECRETS: Secrets = new ResolvedSecrets(new Map());

/** Secrets from values at hand (tests, the test toolkit). */
export function secretsOf(values: Record<string, string>): Secrets {
  return new ResolvedSecrets(new Map(Object.entries(values)));
}

/**
 * Resolves secret references where the runner runs: each environment variable must be set and non-empty,
 * each file readable (its content, less one trailing newline). The first that cannot be resolved stops
 * the start with `SLIPWAY_SECRET_MISSING` naming the secret and its reference — never a value.
 */
export async function resolveSecrets(
  refs: Readonly<Record<string, SecretReference>> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Secrets> {
  if (refs === undefined || Object.keys(refs).length === 0) return NO_SECRETS;
  const values = new Map<string, string>();
  for (const [name, ref] of Object.entries(refs)) {
    const where = describeSecretRef(ref);
    if ('env' in ref) {
      const value = env[ref.env];
      if (value === undefined || value === '')
        throw missing(name, where, `the environment variable ${ref.env} is not set in the runner's environment`);
      values.set(name, value);
    } else {
      let text: string;
      try {
        text = await readFile(ref.file, 'utf8');
      } catch (err) {
        throw missing(name, where, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      const value = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
      if (value === '') throw missing(name, where, 'the file is empty');
      values.set(name, value);
    }
  }
  return new ResolvedSecrets(values);
}

function missing(name: string, where: string, why: string): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_SECRET_MISSING',
    `Secret '${name}' (${where}) cannot be resolved: ${why}. Set it where the runners run, or fix the reference in slipway.config.ts.`,
    { details: { secret: name, reference: where } },
  );
}
