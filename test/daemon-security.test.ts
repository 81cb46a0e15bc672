import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-daemon-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An address of this machine that is not loopback (the machines here have one; a missing one is a failure). */
function outsideAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this machine has no non-loopback IPv4 address to test a request from another address');
}

/** A request from `from` (bound as the local address), to the daemon at `host:port`. */
function call(
  host: string,
  port: number,
  method: string,
  path: string,
  body?: unknown,
  from?: string,
): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host,
        port,
        method,
        path,
        ...(from === undefined ? {} : { localAddress: from }),
        headers:
          text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let data = '';
        res.on('data', (d) => {
          data += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

describe('the daemon never runs code named in a request, and takes changes from loopback only', () => {
  it('refuses a deploy request naming a source file without importing it, and any change from another address', async () => {
    const marker = join(dir, 'imported');
    const source = join(dir, 'evil-pipeline.ts');
    writeFileSync(
      source,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'imported');\n`,
    );
    const daemon = await startDaemon({ paths: daemonPaths(join(dir, 'state')), host: '0.0.0.0' });
    const port = Number(new URL(daemon.url).port);
    try {
      for (const artifact of [source, './evil-pipeline.ts', 'evil-pipeline.ts']) {
        const res = await call('127.0.0.1', port, 'POST', '/api/deployments', { artifact, allowUntested: true });
        assert.equal(res.status, 409, JSON.stringify(res.json));
        assert.equal(res.json.error?.code, 'SLIPWAY_DEPLOY_REFUSED');
        assert.match(
          res.json.error?.message ?? '',
          /is a file, not an artifact digest: the control plane runs built artifacts only/,
        );
      }
      assert.equal(existsSync(marker), false, 'the daemon never imported the file');

      const outside = outsideAddress();
      for (const [path, body] of [
        ['/api/deployments', { artifact: 'abcdef0' }],
        ['/api/test-reports', {}],
        ['/api/rollback', { pipeline: 'p' }],
        ['/api/pipelines/p/scale', { runners: 2 }],
        ['/api/artifacts', { manifest: {}, bundle: '' }],
        ['/api/shutdown', undefined],
      ] as const) {
        const res = await call(outside, port, 'POST', path, body, outside);
        assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.error?.code, 'SLIPWAY_FORBIDDEN');
        assert.match(res.json.error?.message ?? '', new RegExp(`refused from ${outside.replaceAll('.', '\\.')}`));
      }
      // Reading is allowed from anywhere the daemon is bound to; it is still up after all that.
      const health = await call(outside, port, 'GET', '/api/health', undefined, outside);
      assert.equal(health.status, 200);
      assert.equal(health.json.ok, true);
      // The same change from loopback is taken (here: a bad body, refused for what it is, not where it came from).
      const fromHere = await call('127.0.0.1', port, 'POST', '/api/rollback', { pipeline: 'p' });
      assert.equal(fromHere.status, 404);
      assert.equal(fromHere.json.error?.code, 'SLIPWAY_DEPLOYMENT_NOT_FOUND');
    } finally {
      await daemon.close();
    }
  });

  it('binds loopback by default', async () => {
    const daemon = await startDaemon({ paths: daemonPaths(join(dir, 'state2')) });
    try {
      assert.match(daemon.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(daemon.url).port);
      await assert.rejects(call(outsideAddress(), port, 'GET', '/api/health'), { code: 'ECONNREFUSED' });
    } finally {
      await daemon.close();
    }
  });
});
