/**
 * The Kafka engine over the broker's SASL_SSL listener (SCRAM-SHA-512, TLS, StandardAuthorizer): the whole Log
 * contract as the admin, then how logins and certificates that do not fit are refused. Never skips: see
 * `securedKafka` (test-broker.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from '../../errors.js';
import { runLogContract } from '../contract.js';
import { openLog } from '../open-log.js';
import { openKafkaLog } from './kafka-log.js';
import { securedKafka } from './test-broker.js';

const secured = securedKafka();

runLogContract('kafka-secured', {
  open: () => openKafkaLog({ brokers: secured.brokers, sasl: secured.sasl, tls: secured.tls }),
});

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('Kafka log over SASL_SSL', () => {
  it('connects with every SASL mechanism, and with a client certificate whose key has a password', async () => {
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const log = await openKafkaLog({
        brokers: secured.brokers,
        sasl: { ...secured.sasl, mechanism },
        tls: secured.tls,
      });
      assert.ok(Array.isArray(await log.listTopics()));
      await log.close();
    }
    const { clientCert, clientKey, clientKeyPassword } = secured.files;
    assert.ok(clientCert && clientKey && clientKeyPassword, 'the broker script prints the client certificate files');
    // Through the config form: every secret and certificate by reference, resolved when the log opens.
    const log = await openLog({
      engine: 'kafka',
      brokers: secured.brokers,
      security: {
        sasl: {
          mechanism: 'SCRAM-SHA-512',
          username: secured.sasl.username,
          password: { file: secured.files.adminPassword },
        },
        tls: {
          ca: { file: secured.files.ca },
          cert: { file: clientCert },
          key: { file: clientKey },
          keyPassword: { file: clientKeyPassword },
        },
      },
    });
    assert.ok(Array.isArray(await log.listTopics()));
    await log.close();
  });

  it('refuses a wrong password, an untrusted certificate and a missing secret with clear codes, at once', async () => {
    await rejectsWithCode(
      openKafkaLog({ brokers: secured.brokers, sasl: { ...secured.sasl, password: 'wrong' }, tls: secured.tls }),
      'SLIPWAY_KAFKA_AUTH_FAILED',
    );
    // TLS without the test CA: the broker's certificate is not trusted.
    await rejectsWithCode(
      openKafkaLog({ brokers: secured.brokers, sasl: secured.sasl, tls: true }),
      'SLIPWAY_KAFKA_AUTH_FAILED',
    );
    await rejectsWithCode(
      openLog({
        engine: 'kafka',
        brokers: secured.brokers,
        security: {
          sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: { env: 'SLIPWAY_TEST_UNSET_VAR' } },
        },
      }),
      'SLIPWAY_SECRET_MISSING',
    );
    await rejectsWithCode(
      openKafkaLog({
        brokers: secured.brokers,
        sasl: { mechanism: 'SCRAM-SHA-1' as 'PLAIN', username: 'a', password: 'b' },
      }),
      'SLIPWAY_USAGE',
    );
  });
});
