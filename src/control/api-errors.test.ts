import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { errorResponse } from './api.js';
import { ControlPlaneClient } from './client.js';

// Issue 10, item 13: an error keeps its code, retryable flag and details across the HTTP API — the
// API's own error handler on one side of a real HTTP hop, the CLI's client on the other.
const app = new Hono();
app.onError(errorResponse);
app.get('/api/health', () => {
  throw new SlipwayError('SLIPWAY_KAFKA_UNAVAILABLE', 'Kafka did not answer in time; try again.', {
    retryable: true,
    details: { brokers: ['127.0.0.1:9092'] },
  });
});
app.get('/api/status', () => {
  throw new SlipwayError('SLIPWAY_DEPLOY_REFUSED', 'Deployment dep-1 is still running.', {
    details: { running: 'dep-1' },
  });
});
const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
  const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
});
after(() => server.close());
const address = server.address();
const client = new ControlPlaneClient(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);

describe('errors across the HTTP API', () => {
  it('keep their code, retryable flag and details', async () => {
    await assert.rejects(client.health(), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_KAFKA_UNAVAILABLE'), String(err));
      assert.equal(err.retryable, true);
      assert.deepEqual(err.details, { brokers: ['127.0.0.1:9092'] });
      assert.equal(err.message, 'Kafka did not answer in time; try again.');
      return true;
    });
    await assert.rejects(client.status(), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_DEPLOY_REFUSED'), String(err));
      assert.equal(err.retryable, false);
      assert.deepEqual(err.details, { running: 'dep-1' });
      return true;
    });
  });

  it('a control plane that does not answer is unavailable, retryably', async () => {
    await assert.rejects(new ControlPlaneClient('http://127.0.0.1:1').health(), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_DAEMON_UNAVAILABLE'), String(err));
      assert.equal(err.retryable, true);
      return true;
    });
  });
});
