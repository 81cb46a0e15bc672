import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CanaryOptionsSchema, ShadowOptionsSchema, StrategySchema } from '../deploy/deploy-options.js';
import { GateConfigSchema } from '../deploy/gates.js';
import { SlipwayError } from '../errors.js';

/**
 * A project's environments as code: which log each runs on (with its topic namespace), the config and
 * secrets of each pipeline there, the deployment policy, the SLOs, and how artifacts are promoted into
 * it. Declared in `slipway.config.ts` with `defineProject`, validated once (the path of any bad field
 * in the error), and handed to the control plane as plain JSON — never as code.
 */

const Duration = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^\\d+(ms|s|m|h|d)$' })], {
  description: "milliseconds, or text like '30s', '10m', '2h', '1d'",
});

/** Where a secret's value is, resolved only in the runner process when it starts: never its value. */
export const SecretRefSchema = Type.Union([
  Type.Object({ env: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }) }, { additionalProperties: false }),
  Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
]);
export type SecretRef = Static<typeof SecretRefSchema>;

export const EnvironmentLogSchema = Type.Union([
  Type.Object(
    {
      engine: Type.Literal('embedded'),
      /** The log file, relative to the project folder (default `.slipway/<environment>/log.db`). */
      path: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      engine: Type.Literal('kafka'),
      brokers: Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]+:\\d{1,5}$' }), { minItems: 1 }),
      clientId: Type.Optional(Type.String({ minLength: 1 })),
      requestTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
      connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
      transactionTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
      /** SASL authentication; the password by reference (`{ env }` or `{ file }`), resolved where runners run. */
      sasl: Type.Optional(
        Type.Object(
          {
            mechanism: Type.Union([
              Type.Literal('PLAIN'),
              Type.Literal('SCRAM-SHA-256'),
              Type.Literal('SCRAM-SHA-512'),
            ]),
            username: Type.String({ minLength: 1 }),
            password: SecretRefSchema,
          },
          { additionalProperties: false },
        ),
      ),
      /** TLS: `true` (the system's CAs), or a CA, a client certificate, its key and the key's password, by reference. */
      tls: Type.Optional(
        Type.Union([
          Type.Boolean(),
          Type.Object(
            {
              ca: Type.Optional(SecretRefSchema),
              cert: Type.Optional(SecretRefSchema),
              key: Type.Optional(SecretRefSchema),
              keyPassword: Type.Optional(SecretRefSchema),
              servername: Type.Optional(Type.String({ minLength: 1 })),
            },
            { additionalProperties: false },
          ),
        ]),
      ),
    },
    { additionalProperties: false },
  ),
]);

/**
 * A datastore of an environment: a PostgreSQL database and the schema its tables live in (two environments on
 * one database use two schemas, as two environments on one log use two topic prefixes). The password is a
 * secret reference, resolved where it is used (the CLI, a runner), never stored.
 */
export const DatastoreSpecSchema = Type.Object(
  {
    kind: Type.Literal('postgres'),
    host: Type.String({ minLength: 1 }),
    /** Default 5432. */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    database: Type.String({ minLength: 1 }),
    user: Type.String({ minLength: 1 }),
    /** The schema of this environment's tables (default `public`). */
    schema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' })),
    password: Type.Optional(SecretRefSchema),
    /** Connect with TLS, verified against the system CAs. */
    ssl: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DatastoreSpec = Static<typeof DatastoreSpecSchema>;

/** Service levels of a pipeline: the defaults of its bake gates, and what alert rules watch. */
export const SloSchema = Type.Object(
  {
    /** Most records behind (consumer lag), summed over input partitions. */
    maxLag: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Highest p99 end-to-end latency, ms. */
    p99LatencyMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Most dead letters per processed record. */
    maxDlqRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** Longest time without a committed output while input arrives. */
    freshness: Type.Optional(Duration),
    /** How long an SLO must be breached before its alert fires (the rules' `for:`; default 5m). */
    alertAfter: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export type Slo = Static<typeof SloSchema>;

export const PipelineInEnvironmentSchema = Type.Object(
  {
    /** The pipeline's config in this environment (checked against each artifact's config schema). */
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** Secrets `process` reads with `ctx.secrets.get(name)`, by reference. */
    secrets: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), SecretRefSchema)),
    /** How many runner processes run it here (default 1). */
    runners: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Overrides of the project's SLOs for this pipeline here. */
    slo: Type.Optional(SloSchema),
  },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    strategy: Type.Optional(StrategySchema),
    shadow: Type.Optional(ShadowOptionsSchema),
    bake: Type.Optional(Duration),
    gates: Type.Optional(GateConfigSchema),
    canary: Type.Optional(CanaryOptionsSchema),
  },
  { additionalProperties: false },
);

export const PromotionSchema = Type.Object(
  {
    /** The environment an artifact must be live and verified in first. */
    from: Type.String({ minLength: 1 }),
    /** How long it must have been live and healthy there (default 0). */
    soak: Type.Optional(Duration),
    /** Whether someone must `slipway approve` it first. */
    approval: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const EnvironmentSchema = Type.Object(
  {
    log: EnvironmentLogSchema,
    /** Prefix of every topic, group and owner of this environment on its log (e.g. `staging.`). */
    topicPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' })),
    /**
     * The schema registry (Confluent-compatible API) of datasets in a registry format (`avro()`, `jsonSchema()`):
     * runners on a Kafka log write and read their values in the Confluent wire format with it. Basic
     * authentication with `username` and the password by reference. Default: `SCHEMA_REGISTRY_URL` where runners run.
     */
    schemaRegistry: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://[^\\s]+$' }),
          username: Type.Optional(Type.String({ minLength: 1 })),
          password: Type.Optional(SecretRefSchema),
        },
        { additionalProperties: false },
      ),
    ),
    pipelines: Type.Optional(Type.Record(Type.String({ minLength: 1 }), PipelineInEnvironmentSchema)),
    /** The databases its tables live in, by name (`main` is the default of a table). */
    datastores: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$' }), DatastoreSpecSchema)),
    policy: Type.Optional(PolicySchema),
    promotion: Type.Optional(PromotionSchema),
    /** Deploys of artifacts without a passing test report are accepted (`--allow-untested`): laptops only. */
    allowUntested: Type.Optional(Type.Boolean()),
    /** Developers' workspaces (`slipway workspace up`) derive from this one (default: the first in promotion order). */
    workspaceBase: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type EnvironmentSpec = Static<typeof EnvironmentSchema>;

const ENV_NAME = '^[a-z][a-z0-9-]{0,31}$';

export const ProjectSchema = Type.Object(
  {
    environments: Type.Record(Type.String({ pattern: ENV_NAME }), EnvironmentSchema, { minProperties: 1 }),
    /** SLOs per pipeline, for every environment (each may override them). */
    slos: Type.Optional(Type.Record(Type.String({ minLength: 1 }), SloSchema)),
  },
  { additionalProperties: false },
);
export type ProjectSpec = Static<typeof ProjectSchema>;

/** A project definition: the validated spec, marked so the project loader finds it among a module's exports. */
export interface Project {
  readonly kind: 'slipway.project';
  readonly spec: ProjectSpec;
}

/** `30s`, `10m`, `2h`, `1d`, `250ms`, or a number of ms, as ms. */
export function durationMs(value: number | string | undefined, fallback = 0): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (m === null)
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `'${value}' is not a duration (e.g. 30s, 10m, 2h).`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function invalid(path: string, message: string): SlipwayError {
  return new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Project definition: ${path} ${message}.`, {
    details: { field: path },
  });
}

/**
 * Checks a project spec (its shape, then what the shape cannot say: promotion sources that exist and
 * form no cycle, topic prefixes that keep environments on one log apart) and returns it, frozen.
 * Throws `SLIPWAY_INVALID_DEFINITION` naming the field.
 */
export function checkProject(spec: unknown): ProjectSpec {
  const errors = [...Value.Errors(ProjectSchema, spec)];
  const first = errors[0];
  if (first !== undefined) {
    const path = first.path === '' ? '(the definition)' : first.path.slice(1).replaceAll('/', '.');
    throw invalid(path, first.message.toLowerCase());
  }
  const project = structuredClone(spec) as ProjectSpec;
  const names = Object.keys(project.environments);
  for (const [name, env] of Object.entries(project.environments)) {
    const from = env.promotion?.from;
    if (from === undefined) continue;
    if (!names.includes(from))
      throw invalid(
        `environments.${name}.promotion.from`,
        `names '${from}', which is not declared (declared: ${names.join(', ')})`,
      );
    if (from === name) throw invalid(`environments.${name}.promotion.from`, 'names the environment itself');
  }
  for (const name of names) {
    const seen = new Set<string>();
    for (let at: string | undefined = name; at !== undefined; at = project.environments[at]?.promotion?.from) {
      if (seen.has(at)) throw invalid(`environments.${name}.promotion`, `forms a cycle (${[...seen, at].join(' ← ')})`);
      seen.add(at);
    }
  }
  for (const [name, env] of Object.entries(project.environments)) {
    const tls = env.log.engine === 'kafka' ? env.log.tls : undefined;
    if (typeof tls !== 'object') continue;
    const at = `environments.${name}.log.tls`;
    if ((tls.cert === undefined) !== (tls.key === undefined))
      throw invalid(
        `${at}.${tls.cert === undefined ? 'cert' : 'key'}`,
        'is needed too: a client certificate needs both cert and key',
      );
    if (tls.keyPassword !== undefined && tls.key === undefined)
      throw invalid(`${at}.keyPassword`, 'is the password of tls.key: set key too');
  }
  // Two environments on the same log need different prefixes, or they would share topics and owners.
  const where = new Map<string, string>();
  for (const [name, env] of Object.entries(project.environments)) {
    const log =
      env.log.engine === 'kafka'
        ? `kafka:${[...env.log.brokers].sort().join(',')}`
        : `embedded:${env.log.path ?? name}`;
    const key = `${log}|${env.topicPrefix ?? ''}`;
    const other = where.get(key);
    if (other !== undefined)
      throw invalid(`environments.${name}.topicPrefix`, `must differ from ${other}'s: both run on the same log`);
    where.set(key, name);
  }
  // Two environments in the same database need different schemas, or they would share tables and ledgers.
  const schemas = new Map<string, string>();
  for (const [name, env] of Object.entries(project.environments))
    for (const [store, d] of Object.entries(env.datastores ?? {})) {
      const key = `${d.host}:${d.port ?? 5432}/${d.database}/${d.schema ?? 'public'}`;
      const other = schemas.get(key);
      if (other !== undefined && !other.startsWith(`${name}.`))
        throw invalid(
          `environments.${name}.datastores.${store}.schema`,
          `must differ from ${other}'s: both are in the same database`,
        );
      schemas.set(key, `${name}.datastores.${store}`);
    }
  return Object.freeze(project);
}

/**
 * Declares the project's environments, SLOs and promotion rules, in `slipway.config.ts`.
 *
 * @example
 * export const project = defineProject({
 *   slos: { 'enrich-orders': { maxLag: 10_000, p99LatencyMs: 2000, maxDlqRatio: 0.01 } },
 *   environments: {
 *     dev: { log: { engine: 'embedded' }, allowUntested: true },
 *     staging: { log: { engine: 'kafka', brokers: ['kafka:9092'] }, topicPrefix: 'staging.', promotion: { from: 'dev' } },
 *     prod: { log: { engine: 'kafka', brokers: ['kafka:9092'] }, topicPrefix: 'prod.', promotion: { from: 'staging', soak: '1h', approval: true } },
 *   },
 * })
 *
 * @example
 * // A secured cluster: SCRAM over TLS; the password and the CA by reference, resolved where runners run
 * const prod = {
 *   log: {
 *     engine: 'kafka', brokers: ['kafka-1.example.com:9094'],
 *     sasl: { mechanism: 'SCRAM-SHA-512', username: 'orders-app', password: { env: 'KAFKA_PASSWORD' } },
 *     tls: { ca: { file: '/etc/kafka/ca.pem' } },
 *   },
 * }
 */
export function defineProject(spec: ProjectSpec): Project {
  return Object.freeze({ kind: 'slipway.project' as const, spec: checkProject(spec) });
}

/** True when `value` is a Project made by defineProject. */
export function isProject(value: unknown): value is Project {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slipway.project';
}
