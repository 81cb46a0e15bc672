import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { kafkaSecurityFromOptions } from './kafka-security-options.js';

const usage = (opts: Record<string, unknown>, option: string) =>
  assert.throws(
    () => kafkaSecurityFromOptions(opts),
    (err: unknown) => isSlipwayError(err, 'SLIPWAY_USAGE') && err.details?.option === option,
  );

describe('--kafka-* security options', () => {
  it('builds SASL and TLS with secrets by reference and absolute files', () => {
    assert.equal(kafkaSecurityFromOptions({}), undefined);
    assert.deepEqual(
      kafkaSecurityFromOptions({
        kafkaSaslMechanism: 'scram-sha-512',
        kafkaUsername: 'app',
        kafkaPasswordEnv: 'KAFKA_PASSWORD',
        kafkaCa: 'ca.pem',
        kafkaCert: 'c.pem',
        kafkaKey: 'c.key',
        kafkaKeyPasswordFile: 'pw',
      }),
      {
        sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: { env: 'KAFKA_PASSWORD' } },
        tls: {
          ca: { file: resolve('ca.pem') },
          cert: { file: resolve('c.pem') },
          key: { file: resolve('c.key') },
          keyPassword: { file: resolve('pw') },
        },
      },
    );
    assert.deepEqual(kafkaSecurityFromOptions({ kafkaTls: true }), { tls: true });
  });

  it('refuses incomplete or contradictory options, naming the option', () => {
    usage({ kafkaUsername: 'app', kafkaPasswordEnv: 'P' }, '--kafka-sasl-mechanism');
    usage({ kafkaSaslMechanism: 'SCRAM-SHA-1', kafkaUsername: 'a', kafkaPasswordEnv: 'P' }, '--kafka-sasl-mechanism');
    usage({ kafkaSaslMechanism: 'PLAIN', kafkaPasswordEnv: 'P' }, '--kafka-username');
    usage({ kafkaSaslMechanism: 'PLAIN', kafkaUsername: 'a' }, '--kafka-password-env');
    usage(
      { kafkaSaslMechanism: 'PLAIN', kafkaUsername: 'a', kafkaPasswordEnv: 'P', kafkaPasswordFile: 'f' },
      '--kafka-password-env',
    );
    usage({ kafkaPasswordEnv: 'not a name', kafkaSaslMechanism: 'PLAIN', kafkaUsername: 'a' }, '--kafka-password-env');
    usage({ kafkaCert: 'c.pem' }, '--kafka-key');
    usage({ kafkaKeyPasswordEnv: 'P' }, '--kafka-key');
  });
});
