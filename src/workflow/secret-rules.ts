import type { SecretLintRuleCreator, SecretLintSourceCode } from '@secretlint/types';

/**
 * Slipway's own secretlint rules, for what pipelines carry beside the recommended preset's (cloud keys,
 * tokens, private keys, basic auth): Kafka SASL passwords, database URLs with a password, and `.env` files.
 * A value that is a reference (`${VAR}`, `$VAR`, `<placeholder>`, `process.env.X`) is not a secret.
 */

const PLACEHOLDER = /^(\$\{?[A-Za-z_]|<|\*+$|x+$|changeme$|password$|secret$|example)/i;

function isLiteral(value: string): boolean {
  return value.length >= 4 && !PLACEHOLDER.test(value);
}

function scanner(
  id: string,
  message: string,
  find: (source: SecretLintSourceCode) => Array<readonly [number, number]>,
): SecretLintRuleCreator {
  const messages = { FOUND: { en: () => message } };
  return {
    messages,
    meta: { id, type: 'scanner', recommended: true, supportedContentTypes: ['text'] },
    create(context) {
      const t = context.createTranslator(messages);
      return {
        file(source) {
          for (const range of find(source)) context.report({ message: t('FOUND'), range });
        },
      };
    },
  };
}

/** Every match of `pattern` whose group `group` is a literal value: the range of that value. */
function literalMatches(content: string, pattern: RegExp, group: number): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  for (const m of content.matchAll(pattern)) {
    const value = m[group];
    if (value === undefined || !isLiteral(value)) continue;
    const start = (m.index ?? 0) + m[0].lastIndexOf(value);
    out.push([start, start + value.length] as const);
  }
  return out;
}

const SASL_PATTERNS: Array<[RegExp, number]> = [
  // a JAAS line: org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";
  [/LoginModule\s+required[^;\n]*?password\s*=\s*"([^"\n]+)"/g, 1],
  // a client config object: sasl: { mechanism: 'plain', username: 'u', password: 'p' }
  [/\bsasl\b[\s\S]{0,300}?\bpassword\s*:\s*(['"`])([^'"`\n]+)\1/gi, 2],
  // a variable or property: KAFKA_SASL_PASSWORD=p, sasl.password: p, saslPassword = 'p'
  [/\b[\w.-]*sasl[\w.-]*pass(?:word)?\b['"]?[ \t]*[:=][ \t]*['"]?([^\s'"`,;}]+)/gi, 1],
];

/** A Kafka SASL password written into a file (a JAAS config, a client config, an environment variable). */
export const kafkaSaslPasswordRule = scanner(
  'slipway/kafka-sasl-password',
  'found a Kafka SASL password: read it from a secret reference instead',
  (source) => SASL_PATTERNS.flatMap(([pattern, group]) => literalMatches(source.content, pattern, group)),
);

const DATABASE_URL =
  /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|mssql|sqlserver|clickhouse|cockroachdb|amqps?|jdbc:[a-z]+):\/\/[^\s:/@'"`]+:([^\s@'"`/]+)@/gi;

/** A database (or broker) URL with a password in it: `postgres://user:password@host/db`. */
export const databaseUrlPasswordRule = scanner(
  'slipway/database-url-password',
  'found a database URL with a password: keep the password in a secret reference',
  (source) => literalMatches(source.content, DATABASE_URL, 1),
);

/** `.env`, `.env.local`, `.env.production`…: but not the templates meant to be committed. */
export function isDotenvFile(path: string): boolean {
  const base = path.split(/[\\/]/).pop() ?? '';
  return /^\.env(\..+)?$/.test(base) && !/\.(example|sample|template|dist|defaults)$/.test(base);
}

/** A `.env` file holding values: such files are for one machine, never for the repository or an artifact. */
export const dotenvFileRule = scanner(
  'slipway/dotenv-file',
  'found a value in a .env file: .env files stay on one machine (list them in .gitignore; commit a .env.example)',
  (source) => {
    if (source.filePath === undefined || !isDotenvFile(source.filePath)) return [];
    return literalMatches(
      source.content,
      /^[ \t]*(?:export[ \t]+)?[A-Za-z_][\w.]*[ \t]*=[ \t]*['"]?([^\s'"#][^'"\n]*)/gm,
      1,
    );
  },
);

export const SLIPWAY_SECRET_RULES: SecretLintRuleCreator[] = [
  kafkaSaslPasswordRule,
  databaseUrlPasswordRule,
  dotenvFileRule,
];
