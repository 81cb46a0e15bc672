/**
 * The build's schema-registry check: each dataset a pipeline writes with a registry value format must be
 * compatible, under the subject's compatibility level, with the latest schema of its `<topic>-value` subject.
 */

import { ErrorCodes, SlipwayError } from '../../errors.js';
import { avroType } from './avro-types.js';
import { type RegistrySchemaType, SchemaRegistryClient, valueSubject } from './schema-registry-client.js';

/** A dataset as the check needs it (a manifest's `DatasetManifest` fits). */
export interface RegistryCheckedDataset {
  topic: string;
  valueFormat?: { schemaType: RegistrySchemaType; schema: string };
}

/** What the check found for one subject. */
export interface RegistryCheckResult {
  subject: string;
  /** False when the subject has no version yet: the first registration is always allowed. */
  subjectExists: boolean;
}

/** Where the registry is, and the basic-authentication credentials it takes (the password resolved). */
export interface RegistryCheckOptions {
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** One subject's refusal: its subject and the reasons. */
interface Refusal {
  subject: string;
  messages: string[];
}

/**
 * Checks every dataset with a `valueFormat` against the registry at `url`. Registers nothing.
 * Thrown: `SLIPWAY_SCHEMA_INCOMPATIBLE` naming every refused subject and the registry's reasons;
 * `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE` when a dataset needs the registry and no `url` is given or it cannot be reached;
 * `SLIPWAY_SCHEMA_REGISTRY_REFUSED` when it refuses the credentials.
 * @example await checkRegistryCompatibility(manifest.outputs, { url: process.env.SCHEMA_REGISTRY_URL })
 */
export function checkRegistryCompatibility(
  datasets: readonly RegistryCheckedDataset[],
  options: RegistryCheckOptions,
): Promise<RegistryCheckResult[]> {
  return checkSubjects(datasets, options, {
    how: 'written',
    so: "the schema's compatibility can be checked",
    async check(registry, subject, format) {
      const answer = await registry.checkCompatibility(subject, format.schema, format.schemaType);
      return { subjectExists: answer.subjectExists, refused: answer.compatible ? undefined : answer.messages };
    },
    refusal: (registry, subjects) =>
      `the registry at ${registry.url} refuses the new value schema of ${subjects}: it is incompatible with the latest registered version under the subject's compatibility level. Make the change compatible (add fields with defaults, keep types) or publish a new major version (a new topic); nothing was built.`,
  });
}

/**
 * The build's check of INPUTS in a registry format: the pipeline's reader schema must be able to read what the
 * subject's latest registered writer schema writes (skipped when the subject has no version yet). Avro: resolved
 * locally with avsc (the reader reads the writer's records: fields it lacks need defaults, types must promote);
 * JSON Schema: the registry's own check of the reader's schema under the subject's compatibility level.
 * Thrown: `SLIPWAY_SCHEMA_INCOMPATIBLE` naming each refused subject and why; `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE`
 * when an input needs the registry and none is named or it cannot be reached; `SLIPWAY_SCHEMA_REGISTRY_REFUSED`
 * when it refuses the credentials.
 * @example await checkRegistryInputs(manifest.inputs, { url: process.env.SCHEMA_REGISTRY_URL })
 */
export function checkRegistryInputs(
  datasets: readonly RegistryCheckedDataset[],
  options: RegistryCheckOptions,
): Promise<RegistryCheckResult[]> {
  return checkSubjects(datasets, options, {
    how: 'read',
    so: "the reader's schema can be checked against the writers'",
    async check(registry, subject, format) {
      const latest = await registry.latest(subject);
      if (latest === undefined) return { subjectExists: false, refused: undefined };
      if (latest.schemaType !== format.schemaType) {
        return {
          subjectExists: true,
          refused: [
            `its latest schema (id ${latest.id}) is ${latest.schemaType}; the pipeline reads ${format.schemaType}`,
          ],
        };
      }
      if (format.schemaType === 'AVRO') {
        try {
          const reader = avroType(format.schema);
          reader.createResolver(avroType(latest.schema));
          return { subjectExists: true, refused: undefined };
        } catch (err) {
          return {
            subjectExists: true,
            refused: [
              `the reader's schema cannot read the latest writer schema (id ${latest.id}, version ${latest.version}): ${(err as Error).message}`,
            ],
          };
        }
      }
      const answer = await registry.checkCompatibility(subject, format.schema, format.schemaType);
      return { subjectExists: true, refused: answer.compatible ? undefined : answer.messages };
    },
    refusal: (_registry, subjects) =>
      `the pipeline cannot read what is written to ${subjects}: its reader schema must read the subject's latest registered writer schema. Give new fields defaults, keep the types, or read a new major version (a new topic); nothing was built.`,
  });
}

/** Runs `check` on each formatted dataset's subject; refuses them all at once (`refusal`) if any is refused. */
async function checkSubjects(
  datasets: readonly RegistryCheckedDataset[],
  options: RegistryCheckOptions,
  how: {
    how: 'read' | 'written';
    so: string;
    check(
      registry: SchemaRegistryClient,
      subject: string,
      format: NonNullable<RegistryCheckedDataset['valueFormat']>,
    ): Promise<{ subjectExists: boolean; refused: string[] | undefined }>;
    refusal(registry: SchemaRegistryClient, subjects: string): string;
  },
): Promise<RegistryCheckResult[]> {
  const withFormat = formattedNeedingRegistry(datasets, options.url, how.how, how.so);
  if (withFormat.length === 0) return [];
  const registry = new SchemaRegistryClient({
    url: options.url as string,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  });
  const results: RegistryCheckResult[] = [];
  const refused: Refusal[] = [];
  for (const d of withFormat) {
    const subject = valueSubject(d.topic);
    const found = await how.check(
      registry,
      subject,
      d.valueFormat as NonNullable<RegistryCheckedDataset['valueFormat']>,
    );
    results.push({ subject, subjectExists: found.subjectExists });
    if (found.refused !== undefined)
      refused.push({ subject, messages: found.refused.filter((m) => m && m !== 'null') });
  }
  if (refused.length > 0) {
    const subjects = refused
      .map((r) => `${r.subject}${r.messages.length ? ` (${r.messages.join('; ')})` : ''}`)
      .join(', ');
    throw new SlipwayError(ErrorCodes.SCHEMA_INCOMPATIBLE, how.refusal(registry, subjects), {
      details: { subjects: refused },
    });
  }
  return results;
}

/** The datasets with a registry format; refused with `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE` when any and no `url`. */
function formattedNeedingRegistry(
  datasets: readonly RegistryCheckedDataset[],
  url: string | undefined,
  how: 'read' | 'written',
  so: string,
): RegistryCheckedDataset[] {
  const withFormat = datasets.filter((d) => d.valueFormat !== undefined);
  if (withFormat.length > 0 && (url === undefined || url === '')) {
    throw new SlipwayError(
      ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE,
      `${withFormat.map((d) => d.topic).join(', ')} ${withFormat.length === 1 ? 'is' : 'are'} ${how} in a schema-registry format, and no registry is named: set SCHEMA_REGISTRY_URL (or --schema-registry) to its Confluent-compatible API so ${so}`,
      { details: { topics: withFormat.map((d) => d.topic) } },
    );
  }
  return withFormat;
}
