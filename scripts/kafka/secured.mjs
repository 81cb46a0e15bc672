// The optional SASL_SSL listener of the test broker (SLIPWAY_KAFKA_SECURED=1): SCRAM-SHA-256/512 and PLAIN over TLS,
// Kafka's StandardAuthorizer with ACLs, a super user `admin`, and certificates made here with keytool and openssl.
// The plaintext listener stays as it is for the rest of the suite: its principal (ANONYMOUS) is a super user, so
// nothing there needs an ACL. See shared recipe kafka-secured.md for the facts this is built on.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fail, HOST, rmQuiet } from './common.mjs';

export const ADMIN_USER = 'admin';

/** True when the broker is to start with the secured listener too. */
export function securedWanted(env = process.env) {
  const v = env.SLIPWAY_KAFKA_SECURED;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

function secret() {
  return randomBytes(18)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x');
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    fail(`${what} failed (${cmd} exit ${r.status}): ${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`.trim());
  return r.stdout;
}

function keytoolBin() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'keytool') : 'keytool';
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function securedPort(taken) {
  const v = process.env.KAFKA_SECURED_PORT;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`KAFKA_SECURED_PORT=${v} is not a valid port`);
    if (taken.includes(n) || !(await portFree(n))) fail(`port ${n} (KAFKA_SECURED_PORT) on ${HOST} is busy`);
    return n;
  }
  for (let i = 0; i < 20; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    if (!taken.includes(port)) return port;
  }
  fail('cannot find a free port for the SASL_SSL listener');
}

/**
 * Makes the certificates (a CA; the broker's, for 127.0.0.1 and localhost; a client certificate whose key is
 * encrypted with a password, for mutual TLS) and the admin's password in `<stateDir>/tls`, and picks the port.
 */
export async function prepareSecured(stateDir, takenPorts) {
  const dir = path.join(stateDir, 'tls');
  rmQuiet(dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name) => path.join(dir, name);
  const caPass = secret();
  const storePass = secret();
  const clientKeyPass = secret();
  const adminPassword = secret();
  const kt = (args, what) => run(keytoolBin(), args, what);
  const validity = ['-validity', '30'];
  kt(
    [
      '-genkeypair',
      '-alias',
      'ca',
      '-keyalg',
      'RSA',
      '-keysize',
      '2048',
      '-dname',
      'CN=slipway-test-ca',
      '-ext',
      'bc:c',
    ].concat(validity, ['-keystore', f('ca.p12'), '-storetype', 'PKCS12', '-storepass', caPass, '-keypass', caPass]),
    'making the CA',
  );
  kt(
    ['-exportcert', '-alias', 'ca', '-keystore', f('ca.p12'), '-storepass', caPass, '-rfc', '-file', f('ca.pem')],
    'exporting the CA',
  );
  const san = ['-ext', 'SAN=IP:127.0.0.1,DNS:localhost'];
  const broker = ['-keystore', f('broker.p12'), '-storepass', storePass];
  kt(
    ['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=127.0.0.1'].concat(
      san,
      validity,
      broker,
      ['-storetype', 'PKCS12', '-keypass', storePass],
    ),
    "making the broker's key",
  );
  kt(['-certreq', '-alias', 'broker', ...broker, '-file', f('broker.csr')], "the broker's certificate request");
  const signWithCa = (csr, out, extra, what) =>
    kt(
      [
        '-gencert',
        '-alias',
        'ca',
        '-keystore',
        f('ca.p12'),
        '-storepass',
        caPass,
        '-infile',
        csr,
        '-outfile',
        out,
      ].concat(['-rfc'], extra, validity),
      what,
    );
  signWithCa(f('broker.csr'), f('broker.pem'), san, "signing the broker's certificate");
  kt(['-importcert', '-alias', 'ca', '-file', f('ca.pem'), ...broker, '-noprompt'], 'importing the CA');
  kt(['-importcert', '-alias', 'broker', '-file', f('broker.pem'), ...broker, '-noprompt'], 'importing the cert');
  // The broker trusts client certificates the CA signed (ssl.client.auth=requested: optional, verified if sent).
  kt(
    ['-importcert', '-alias', 'ca', '-file', f('ca.pem'), '-keystore', f('trust.p12'), '-storetype', 'PKCS12'].concat([
      '-storepass',
      storePass,
      '-noprompt',
    ]),
    "the broker's truststore",
  );
  // A client key encrypted with a password (PKCS#8), its certificate signed by the CA.
  run(
    'openssl',
    ['req', '-new', '-newkey', 'rsa:2048', '-keyout', f('client.key'), '-passout', `pass:${clientKeyPass}`].concat([
      '-subj',
      '/CN=slipway-test-client',
      '-out',
      f('client.csr'),
    ]),
    'making the client key',
  );
  signWithCa(f('client.csr'), f('client.pem'), [], "signing the client's certificate");
  fs.writeFileSync(f('client-key.password'), `${clientKeyPass}\n`, { mode: 0o600 });
  fs.writeFileSync(f('admin.password'), `${adminPassword}\n`, { mode: 0o600 });
  for (const name of ['broker.csr', 'client.csr']) rmQuiet(f(name));

  const port = await securedPort(takenPorts);
  return {
    port,
    brokers: `${HOST}:${port}`,
    dir,
    ca: f('ca.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    clientKeyPasswordFile: f('client-key.password'),
    adminUser: ADMIN_USER,
    adminPasswordFile: f('admin.password'),
    // Kept only in memory for server.properties and the format step.
    adminPassword,
    storePass,
  };
}

/** The listener part of server.properties. */
export function securedListeners(port, controllerPort, secured) {
  if (secured === null) {
    return {
      listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
      advertised: `PLAINTEXT://${HOST}:${port}`,
      map: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    };
  }
  return {
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort},SASL_SSL://${HOST}:${secured.port}`,
    advertised: `PLAINTEXT://${HOST}:${port},SASL_SSL://${HOST}:${secured.port}`,
    map: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
  };
}

/** The security settings of server.properties (after the listeners). */
export function securedProperties(s) {
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return `
# SASL_SSL listener (scripts/kafka/secured.mjs): SCRAM and PLAIN over TLS, ACLs by the StandardAuthorizer.
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${s.adminUser}="${s.adminPassword}";
ssl.keystore.location=${path.join(s.dir, 'broker.p12')}
ssl.keystore.type=PKCS12
ssl.keystore.password=${s.storePass}
ssl.key.password=${s.storePass}
ssl.truststore.location=${path.join(s.dir, 'trust.p12')}
ssl.truststore.type=PKCS12
ssl.truststore.password=${s.storePass}
ssl.client.auth=requested
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# ANONYMOUS is the plaintext listener (loopback only: the rest of the test suite); admin is the secured super user.
super.users=User:ANONYMOUS;User:${s.adminUser}
allow.everyone.if.no.acl.found=false
`;
}

/** StorageTool format arguments that create the admin's SCRAM credentials (KRaft keeps them in its metadata). */
export function securedFormatArgs(s) {
  return ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
    '--add-scram',
    `${m}=[name=${s.adminUser},password=${s.adminPassword}]`,
  ]);
}

/** What a broker's state file records of the secured listener (no passwords: files hold them). */
export function securedState(s) {
  if (s === null) return undefined;
  const { adminPassword: _a, storePass: _s, ...state } = s;
  return state;
}

/** The lines `start` and `status` print for the secured listener (values only: no password). */
export function securedLines(state) {
  const s = state?.secured;
  if (s === undefined || s === null) return '';
  return [
    `KAFKA_SECURED_BROKERS=${s.brokers}`,
    `KAFKA_SECURED_CA=${s.ca}`,
    `KAFKA_SECURED_ADMIN_USER=${s.adminUser}`,
    `KAFKA_SECURED_ADMIN_PASSWORD_FILE=${s.adminPasswordFile}`,
    `KAFKA_SECURED_CLIENT_CERT=${s.clientCert}`,
    `KAFKA_SECURED_CLIENT_KEY=${s.clientKey}`,
    `KAFKA_SECURED_CLIENT_KEY_PASSWORD_FILE=${s.clientKeyPasswordFile}`,
  ]
    .map((l) => `${l}\n`)
    .join('');
}

/** True when the secured listener accepts TCP connections. */
export function securedPortOpen(s) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port: s.port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
