// Health checks over the Kafka wire protocol: just enough for ApiVersions v0 and Metadata v4.
import net from 'node:net';
import { HOST } from './common.mjs';

function kafkaRequest(port, apiKey, apiVersion, body, timeoutMs = 3000) {
  const correlationId = Math.floor(Math.random() * 0x7fffffff);
  const clientId = Buffer.from('slipway-kafka-broker', 'utf8');
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);

  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      err ? reject(err) : resolve(val);
    };
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat([size, payload])));
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error('connection closed before a full response')));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const len = buf.readInt32BE(0);
      if (len < 4 || len > 16 * 1024 * 1024) return finish(new Error(`bad response size ${len}`));
      if (buf.length < 4 + len) return;
      const frame = buf.subarray(4, 4 + len);
      const gotId = frame.readInt32BE(0);
      if (gotId !== correlationId) return finish(new Error(`correlation id ${gotId} != ${correlationId}`));
      finish(null, frame.subarray(4)); // response header v0 is just the correlation id
    });
  });
}

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.off = 0;
  }
  need(n) {
    if (this.off + n > this.buf.length) throw new Error('truncated response');
  }
  i16() {
    this.need(2);
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }
  i32() {
    this.need(4);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bool() {
    this.need(1);
    return this.buf[this.off++] !== 0;
  }
  str() {
    const n = this.i16();
    if (n < 0) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
}

const API_METADATA = 3;
const API_VERSIONS = 18;

async function apiVersions(port) {
  const r = new Reader(await kafkaRequest(port, API_VERSIONS, 0, Buffer.alloc(0)));
  const errorCode = r.i16();
  const n = r.i32();
  if (n < 0 || n > 1000) throw new Error(`bad ApiVersions array length ${n}`);
  const apis = new Map();
  for (let i = 0; i < n; i++) {
    const key = r.i16();
    apis.set(key, { min: r.i16(), max: r.i16() });
  }
  if (errorCode !== 0) throw new Error(`ApiVersions error code ${errorCode}`);
  if (!apis.has(API_VERSIONS) || !apis.has(API_METADATA))
    throw new Error('ApiVersions response lacks ApiVersions/Metadata');
  return apis;
}

// Metadata v4 for no topics: returns brokers, cluster id and controller id.
async function metadataV4(port) {
  const body = Buffer.alloc(5);
  body.writeInt32BE(0, 0); // topics: empty array (not null = all topics)
  body.writeUInt8(0, 4); // allow_auto_topic_creation = false
  const r = new Reader(await kafkaRequest(port, API_METADATA, 4, body));
  r.i32(); // throttle_time_ms
  const nBrokers = r.i32();
  if (nBrokers < 0 || nBrokers > 1000) throw new Error(`bad broker count ${nBrokers}`);
  const brokers = [];
  for (let i = 0; i < nBrokers; i++) brokers.push({ nodeId: r.i32(), host: r.str(), port: r.i32(), rack: r.str() });
  const clusterId = r.str();
  const controllerId = r.i32();
  const nTopics = r.i32();
  return { brokers, clusterId, controllerId, nTopics };
}

// Resolves to a short description when healthy, throws with the reason otherwise.
export async function probe(port) {
  const apis = await apiVersions(port);
  const md = apis.get(API_METADATA);
  if (md.min > 4 || md.max < 4) return `ApiVersions ok (${apis.size} APIs; Metadata v4 unsupported, skipped)`;
  const meta = await metadataV4(port);
  const me = meta.brokers.find((b) => b.port === port);
  if (!me) throw new Error(`Metadata lists no broker on port ${port}: ${JSON.stringify(meta.brokers)}`);
  if (meta.controllerId < 0) throw new Error('Metadata reports no controller yet');
  return `ApiVersions ok (${apis.size} APIs), Metadata ok (cluster ${meta.clusterId}, broker ${me.nodeId} at ${me.host}:${me.port})`;
}
