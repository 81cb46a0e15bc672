/**
 * The build's schema-registry check: each dataset a pipeline writes with a registry value format must be
 * compatible, under the subject's compatibility level, with the latest schema of its `<topic>-value` subject.
 */
import avsc from 'avsc';
import { ErrorCodes, SlipwayError } from '../../errors.js';
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

/**
 * Checks every dataset with a `valueFormat` against the registry at `url`. Registers nothing.
 * Thrown: `SLIPWAY_SCHEMA_INCOMPATIBLE` naming every refused subject and the registry's reasons;
 * `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE` when a dataset needs the registry and no `url` is given or it cannot be reached.
 * @example await checkRegistryCompatibility(manifest.outputs, { url: process.env.SCHEMA_REGISTRY_URL })
 */
export async function checkRegistryCompatibility(
  datasets: readonly RegistryCheckedDataset[],
  options: { url?: string | undefined },
): Promise<RegistryCheckResult[]> {
  const withFormat = formattedNeedingRegistry(
    datasets,
    options.url,
    'written',
    "the schema's compatibility can be checked",
  );
  if (withFormat.length === 0) return [];
  const registry = new SchemaRegistryClient({ url: options.url as string });
  const results: RegistryCheckResult[] = [];
  const refused: { subject: string; messages: string[] }[] = [];
  for (const d of withFormat) {
    const format = d.valueFormat as NonNullable<RegistryCheckedDataset['valueFormat']>;
    const subject = valueSubject(d.topic);
    const answer = await registry.checkCompatibility(subject, format.schema, format.schemaType);
    if (!answer.compatible) refused.push({ subject, messages: answer.messages.filter((m) => m && m !== 'null') });
    results.push({ subject, subjectExists: answer.subjectExists });
  }
  if (refused.length > 0) {
    throw new SlipwayError(
      ErrorCodes.SCHEMA_INCOMPATIBLE,
      `the registry at ${registry.url} refuses the new value schema of ${refused
        .map((r) => `${r.subject}${r.messages.length ? ` (${r.messages.join('; ')})` : ''}`)
        .join(
          ', ',
        )}: it is incompatible with the latest registered version under the subject's compatibility level. Make the change compatible (add fields with defaults, keep types) or publish a new major version (a new topic); nothing was built.`,
      { details: { subjects: refused } },
    );
  }
  return results;
}

/**
 * The build's check of INPUTS in a registry format: the pipeline's reader schema must be able to read what the
 * subject's latest registered writer schema writes (skipped when the subject has no version yet). Avro: resolved
 * locally with avsc (the reader reads the writer's records: fields it lacks need defaults, types must promote);
 * JSON Schema: the registry's own check of the reader's schema under the subject's compatibility level.
 * Thrown: `SLIPWAY_SCHEMA_INCOMPATIBLE` naming each refused subject and why; `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE`
 * when an input needs the registry and none is named or it cannot be reached.
 * @example await checkRegistryInputs(manifest.inputs, { url: process.env.SCHEMA_REGISTRY_URL })
 */
export async function checkRegistryInputs(
  datasets: readonly RegistryCheckedDataset[],
  options: { url?: string | undefined },
): Promise<RegistryCheckResult[]> {
  const withFormat = formattedNeedingRegistry(
    datasets,
    options.url,
    'read',
    "the reader's schema can be checked against the writers'",
  );
  if (withFormat.length === 0) return [];
  const registry = new SchemaRegistryClient({ url: options.url as string });
  const results: RegistryCheckResult[] = [];
  const refused: { subject: string; messages: string[] }[] = [];
  for (const d of withFormat) {
    const format = d.valueFormat as NonNullable<RegistryCheckedDataset['valueFormat']>;
    const subject = valueSubject(d.topic);
    const latest = await registry.latest(subject);
    results.push({ subject, subjectExists: latest !== undefined });
    if (latest === undefined) continue;
    if (latest.schemaType !== format.schemaType) {
      refused.push({
        subject,
        messages: [
          `its latest schema (id ${latest.id}) is ${latest.schemaType}; the pipeline reads ${format.schemaType}`,
        ],
      });
      continue;
    }
    if (format.schemaType === 'AVRO') {
      try {
        const reader = avsc.Type.forSchema(JSON.parse(format.schema));
        reader.createResolver(avsc.Type.forSchema(JSON.parse(latest.schema)));
      } catch (err) {
        refused.push({
          subject,
          messages: [
            `the reader's schema cannot read the latest writer schema (id ${latest.id}, version ${latest.version}): ${(err as Error).message}`,
          ],
        });
      }
      continue;
    }
    const answer = await registry.checkCompatibility(subject, format.schema, format.schemaType);
    if (!answer.compatible) refused.push({ subject, messages: answer.messages.filter((m) => m && m !== 'null') });
  }
  if (refused.length > 0) {
    throw new SlipwayError(
      ErrorCodes.SCHEMA_INCOMPATIBLE,
      `the pipeline cannot read what is written to ${refused
        .map((r) => `${r.subject}${r.messages.length ? ` (${r.messages.join('; ')})` : ''}`)
        .join(
          ', ',
        )}: its reader schema must read the subject's latest registered writer schema. Give new fields defaults, keep the types, or read a new major version (a new topic); nothing was built.`,
      { details: { subjects: refused } },
    );
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
