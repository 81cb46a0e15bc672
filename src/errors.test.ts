import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorJSON, errorFromJSON, errorToJSON, isSlipwayError, SlipwayError } from './errors.js';

/** What crosses the runner IPC or the HTTP API: JSON text, parsed on the other side. */
function overTheWire(json: ErrorJSON): unknown {
  return JSON.parse(JSON.stringify(json));
}

describe('errorToJSON / errorFromJSON', () => {
  it('round-trips a SlipwayError: code, message, retryable, details and its cause chain', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
    const middle = new SlipwayError('SLIPWAY_LOG_LOCKED', 'The log is locked.', { retryable: true, cause: root });
    const err = new SlipwayError('SLIPWAY_KAFKA_UNAVAILABLE', 'Kafka did not answer. Check KAFKA_BROKERS.', {
      retryable: true,
      details: { brokers: ['localhost:9092'], attempt: 3 },
      cause: middle,
    });
    const json = errorToJSON(err);
    assert.deepEqual(json, {
      name: 'SlipwayError',
      code: 'SLIPWAY_KAFKA_UNAVAILABLE',
      message: 'Kafka did not answer. Check KAFKA_BROKERS.',
      retryable: true,
      details: { brokers: ['localhost:9092'], attempt: 3 },
      cause: {
        name: 'SlipwayError',
        code: 'SLIPWAY_LOG_LOCKED',
        message: 'The log is locked.',
        retryable: true,
        cause: { name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9092' },
      },
    });
    const back = errorFromJSON(overTheWire(json));
    assert.ok(back instanceof SlipwayError);
    assert.equal(back.code, 'SLIPWAY_KAFKA_UNAVAILABLE');
    assert.equal(back.message, err.message);
    assert.equal(back.retryable, true);
    assert.deepEqual(back.details, err.details);
    const cause = back.cause as SlipwayError;
    assert.ok(isSlipwayError(cause, 'SLIPWAY_LOG_LOCKED'));
    assert.equal(cause.retryable, true);
    const rootBack = cause.cause as Error & { code?: string };
    assert.equal(rootBack.message, root.message);
    assert.equal(rootBack.code, 'ECONNREFUSED');
    // Twice over (runner → daemon → CLI) changes nothing.
    assert.deepEqual(errorToJSON(errorFromJSON(overTheWire(errorToJSON(back)))), json);
  });

  it('keeps a retryable: false SlipwayError not retryable, and leaves out empty details', () => {
    const json = errorToJSON(new SlipwayError('SLIPWAY_FENCED', 'Fenced: epoch 3 is current.'));
    assert.deepEqual(json, {
      name: 'SlipwayError',
      code: 'SLIPWAY_FENCED',
      message: 'Fenced: epoch 3 is current.',
      retryable: false,
    });
    const back = errorFromJSON(overTheWire(json));
    assert.equal(back.code, 'SLIPWAY_FENCED');
    assert.equal(back.retryable, false);
    assert.deepEqual(back.details, {});
  });

  it('turns a plain Error into the stated fallback code, keeping its own code in details.code', () => {
    const plain = Object.assign(new TypeError("Cannot read properties of undefined (reading 'x')"), { code: 'E_BUG' });
    const json = errorToJSON(plain);
    assert.deepEqual(json, { name: 'TypeError', code: 'E_BUG', message: plain.message });
    const back = errorFromJSON(overTheWire(json));
    assert.equal(back.code, 'SLIPWAY_RUNNER_FAILED', 'the default fallback');
    assert.equal(back.message, plain.message);
    assert.equal(back.retryable, false);
    assert.deepEqual(back.details, { code: 'E_BUG', name: 'TypeError' });
    const viaApi = errorFromJSON(overTheWire(errorToJSON(new Error('disk full'))), 'SLIPWAY_INTERNAL');
    assert.equal(viaApi.code, 'SLIPWAY_INTERNAL');
    assert.deepEqual(viaApi.details, {});
  });

  it('describes a thrown value that is not an Error', () => {
    assert.deepEqual(errorToJSON('boom'), { message: 'boom' });
    assert.deepEqual(errorToJSON(42), { message: '42' });
    assert.deepEqual(errorToJSON(undefined), { message: 'undefined' });
    assert.deepEqual(errorToJSON({ reason: 'nope' }), { message: '{"reason":"nope"}' });
    const back = errorFromJSON(overTheWire(errorToJSON('boom')));
    assert.equal(back.code, 'SLIPWAY_RUNNER_FAILED');
    assert.equal(back.message, 'boom');
  });

  it('reads anything it is handed: a body that is not an ErrorJSON still gives a SlipwayError', () => {
    for (const junk of [
      null,
      'text',
      7,
      [],
      { message: 5 },
      { code: 'SLIPWAY_NOPE', message: 'm', retryable: 'yes' },
    ]) {
      const err = errorFromJSON(junk, 'SLIPWAY_INTERNAL');
      assert.ok(err instanceof SlipwayError);
      assert.equal(err.code, 'SLIPWAY_INTERNAL');
      assert.equal(err.retryable, false);
      assert.equal(typeof err.message, 'string');
    }
    assert.equal(
      errorFromJSON({ code: 'SLIPWAY_NOPE', message: 'm' }, 'SLIPWAY_INTERNAL').details.code,
      'SLIPWAY_NOPE',
    );
  });

  it('stays JSON-safe: cyclic causes and details that JSON cannot hold', () => {
    const a = new SlipwayError('SLIPWAY_USAGE', 'a', { details: { big: 10n, self: undefined as unknown } });
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.me = cyclic;
    const c = new SlipwayError('SLIPWAY_USAGE', 'c', { details: cyclic, cause: b });
    const json = errorToJSON(c);
    assert.doesNotThrow(() => JSON.stringify(json));
    assert.equal(json.details?.n, 1);
    let depth = 0;
    for (let at: ErrorJSON | undefined = json; at !== undefined; at = at.cause) depth++;
    assert.ok(depth <= 9, `the cause chain is cut (${depth} deep)`);
    assert.doesNotThrow(() => JSON.stringify(errorToJSON(a)));
  });
});
