// Choosing the broker's client and controller ports.
import net from 'node:net';
import { DEFAULT_PORT, fail, HOST, say } from './common.mjs';

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function osFreePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function parsePort(name) {
  const v = process.env[name];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name}=${v} is not a valid port`);
  return n;
}

export async function choosePorts() {
  const explicit = parsePort('KAFKA_PORT');
  if (explicit !== null) {
    const controller = parsePort('KAFKA_CONTROLLER_PORT') ?? explicit + 1;
    if (controller === explicit) fail('KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT');
    for (const [name, port] of [
      ['KAFKA_PORT', explicit],
      ['controller', controller],
    ]) {
      if (!(await portFree(port)))
        fail(`port ${port} (${name}) on ${HOST} is busy; free it or choose another KAFKA_PORT`);
    }
    return { port: explicit, controllerPort: controller };
  }
  const controllerEnv = parsePort('KAFKA_CONTROLLER_PORT');
  const controller = controllerEnv ?? DEFAULT_PORT + 1;
  if ((await portFree(DEFAULT_PORT)) && (await portFree(controller)))
    return { port: DEFAULT_PORT, controllerPort: controller };
  for (let i = 0; i < 20; i++) {
    const a = await osFreePort();
    const b = controllerEnv ?? (await osFreePort());
    if (a !== b && (await portFree(a)) && (await portFree(b))) {
      say(`port ${DEFAULT_PORT} or ${controller} is busy; using ${a} (client) and ${b} (controller) instead`);
      return { port: a, controllerPort: b };
    }
  }
  fail('cannot find two free ports on 127.0.0.1');
}
