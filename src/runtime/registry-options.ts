/**
 * Where a runner's schema registry is: the environment's `schemaRegistry` (carried in its log config, the password
 * by reference), else `SCHEMA_REGISTRY_URL` (with `SCHEMA_REGISTRY_USERNAME` / `SCHEMA_REGISTRY_PASSWORD`) of the
 * runner's own process. Resolved where the runner runs, so the password never travels.
 */
import type { SchemaRegistryOptions } from '../dataset/registry/schema-registry-client.js';
import type { SchemaRegistryConfig } from '../log/open-log.js';
import { resolveSecrets } from '../pipeline/secrets.js';

/**
 * The registry options a runner takes, or undefined when none is configured (a pipeline with a registry format is
 * then refused on Kafka at start). Thrown: `SLIPWAY_SECRET_MISSING` when the password's reference cannot be resolved.
 * @example const schemaRegistry = await resolveSchemaRegistry(spec.log.schemaRegistry)
 */
export async function resolveSchemaRegistry(
  config: SchemaRegistryConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SchemaRegistryOptions | undefined> {
  if (config === undefined) {
    const url = env.SCHEMA_REGISTRY_URL?.trim();
    if (url === undefined || url === '') return undefined;
    // Basic authentication from the process's environment (a CI job's secrets): SCHEMA_REGISTRY_USERNAME and
    // SCHEMA_REGISTRY_PASSWORD, as Confluent's `basic.auth.user.info` gives them.
    const username = env.SCHEMA_REGISTRY_USERNAME?.trim();
    const password = env.SCHEMA_REGISTRY_PASSWORD;
    return {
      url,
      ...(username === undefined || username === '' ? {} : { username }),
      ...(password === undefined || password === '' ? {} : { password }),
    };
  }
  const password =
    config.password === undefined
      ? undefined
      : (await resolveSecrets({ 'schema registry password': config.password }, env)).get('schema registry password');
  return {
    url: config.url,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(password === undefined ? {} : { password }),
  };
}
