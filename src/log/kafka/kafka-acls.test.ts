import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aclCommands, kafkaAcls } from './kafka-acls.js';
import { stateTopicName, transactionalIdOf } from './kafka-names.js';

describe('kafkaAcls', () => {
  it('names what a namespaced pipeline uses, as the engine names it', () => {
    const acls = kafkaAcls({
      principal: 'orders-app',
      namespace: 'staging.',
      pipelines: [{ name: 'enrich', inputs: ['orders.v1'], outputs: ['enriched.v1'] }],
    });
    const names = (type: string) => acls.filter((a) => a.resourceType === type).map((a) => a.name);
    assert.ok(acls.every((a) => a.principal === 'User:orders-app'));
    assert.deepEqual(names('TOPIC'), [
      'staging.orders.v1',
      'staging.orders.v1.dlq',
      'staging.enriched.v1',
      stateTopicName('__slipway', 'staging.enrich'),
      '__slipway-owners',
      'staging.__slipway-namespace',
    ]);
    assert.deepEqual(names('GROUP'), ['staging.slipway.enrich']);
    // The engine's own naming of the owner's transactional id.
    assert.ok(names('TRANSACTIONAL_ID').includes(transactionalIdOf('slipway', 'staging.slipway.enrich')));
    const commands = aclCommands(acls, 'kafka:9094');
    assert.equal(commands.length, acls.length);
    assert.match(
      commands[0] as string,
      /--allow-principal 'User:orders-app' --operation Read --operation Describe --topic 'staging.orders.v1'$/,
    );
  });
});
