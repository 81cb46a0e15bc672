import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { resolveSchemaRegistry } from '../runtime/registry-options.js';
import { defineProject } from './project.js';
import { environmentLog } from './resolve.js';

describe('where a runner finds its schema registry', () => {
  it("an environment's schemaRegistry travels in its log config; the password stays a reference until a runner resolves it", async () => {
    const project = defineProject({
      environments: {
        prod: {
          log: { engine: 'kafka', brokers: ['kafka:9092'] },
          topicPrefix: 'prod.',
          schemaRegistry: { url: 'https://registry.example.com', username: 'orders', password: { env: 'REG_PW' } },
        },
      },
    });
    const log = environmentLog('/project', 'prod', project.spec.environments.prod as never);
    assert.deepEqual(log.schemaRegistry, {
      url: 'https://registry.example.com',
      username: 'orders',
      password: { env: 'REG_PW' },
    });
    assert.deepEqual(await resolveSchemaRegistry(log.schemaRegistry, { REG_PW: 'pw-from-env' }), {
      url: 'https://registry.example.com',
      username: 'orders',
      password: 'pw-from-env',
    });
    await assert.rejects(resolveSchemaRegistry(log.schemaRegistry, {}), (e) =>
      isSlipwayError(e, 'SLIPWAY_SECRET_MISSING'),
    );
  });

  it('falls back to SCHEMA_REGISTRY_URL; none at all is undefined', async () => {
    assert.deepEqual(await resolveSchemaRegistry(undefined, { SCHEMA_REGISTRY_URL: 'http://r:8081' }), {
      url: 'http://r:8081',
    });
    assert.equal(await resolveSchemaRegistry(undefined, {}), undefined);
  });

  it('refuses a password written in the config (a reference only) and a URL that is not http(s)', () => {
    const env = (schemaRegistry: unknown) => ({
      environments: { dev: { log: { engine: 'embedded' as const }, schemaRegistry } },
    });
    for (const bad of [{ url: 'http://r', password: 'plain' }, { url: 'registry:8081' }]) {
      assert.throws(
        () => defineProject(env(bad) as never),
        (e) => isSlipwayError(e) && /schemaRegistry/.test(e.message),
      );
    }
  });
});
