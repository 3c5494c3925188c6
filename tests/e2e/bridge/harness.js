'use strict';
// Process harness for the bridge's tests: starts the real peerlink-agent and peerlink-bridge on
// loopback with port 0, reads the address line each prints at start, and waits for events
// with deadlines (never a fixed sleep). Messages are built from the API's descriptor set with
// @bufbuild/protobuf's dynamic messages: nothing generated is committed.

const {spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {create, createFileRegistry, fromBinary, toBinary} = require('@bufbuild/protobuf');
const {FileDescriptorSetSchema} = require('@bufbuild/protobuf/wkt');

function runfile(rel) {
  for (const base of [path.join(process.env.TEST_SRCDIR || '', 'peerlink'), process.cwd()]) {
    const p = path.join(base, rel);
    if (fs.existsSync(p)) return p;
  }
  throw new Error('missing runfile ' + rel);
}

function tmpdir(name) {
  return fs.mkdtempSync(path.join(process.env.TEST_TMPDIR || os.tmpdir(), name + '-'));
}

const outputs = process.env.TEST_UNDECLARED_OUTPUTS_DIR || tmpdir('logs');

// Resolves with the promise's value, or rejects naming `what` after `ms`.
function deadline(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Polls `check` (sync or async) until it returns a truthy value; the deadline fails the test.
async function waitFor(check, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not seen within ${ms} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

let procCount = 0;

class Proc {
  // Starts argv; resolves once the first stdout line (the address line) arrived.
  static start(argv, name) {
    const p = new Proc();
    p.name = name;
    p.logPath = path.join(outputs, `${name}-${++procCount}.log`);
    p.log = fs.openSync(p.logPath, 'a');
    p.child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', p.log]});
    p.exited = new Promise((resolve) => p.child.on('exit', (code, sig) => resolve(code ?? sig)));
    let buf = '';
    const line = new Promise((resolve, reject) => {
      p.child.stdout.on('data', (d) => {
        buf += d;
        const i = buf.indexOf('\n');
        if (i >= 0) resolve(buf.slice(0, i));
      });
      p.exited.then((code) => reject(new Error(`${name} exited with ${code} (log ${p.logPath})`)));
    });
    return deadline(line, 20000, `${name} start line`).then((l) => {
      p.line = l;
      p.fields = Object.fromEntries([...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
      return p;
    });
  }

  stderr() {
    return fs.readFileSync(this.logPath, 'utf8');
  }

  // SIGTERM, then the exit code; fails if the process does not exit in time.
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const code = await deadline(this.exited, 10000, `${this.name} exit`);
    if (this.log !== null) fs.closeSync(this.log);
    this.log = null;
    return code;
  }
}

function startAgent(extra = []) {
  const name = 'agent';
  return Proc.start([runfile('agent/peerlink-agent'), '--control', '127.0.0.1:0', '--udp',
    '127.0.0.1:0', '--name', 'bridged', '--state-dir', tmpdir('agent'), ...extra], name);
}

async function startBridge(agent, extra = []) {
  const b = await Proc.start([runfile('control/bridge/peerlink-bridge'), '--listen',
    '127.0.0.1:0', '--agent', agent.fields.control, ...extra], 'bridge');
  b.url = `http://${b.fields.listen}`;
  return b;
}

// The API, health and reflection, from the descriptor set the servers serve.
const registry = createFileRegistry(
    fromBinary(FileDescriptorSetSchema, fs.readFileSync(runfile('proto/descriptor_set.pb'))));

function method(service, name) {
  const svc = registry.getService(service);
  const m = svc.methods.find((x) => x.name === name);
  if (!m) throw new Error(`no method ${service}/${name}`);
  return {svc, m};
}

const encode = (desc, obj) => toBinary(desc, create(desc, obj));
const decode = (desc, bytes) => fromBinary(desc, bytes);

// A grpc-websockets data message: 0x00, then one gRPC frame (flags, 4-byte length, bytes).
function wsData(bytes, flags = 0) {
  const m = Buffer.alloc(6 + bytes.length);
  m[1] = flags;
  m.writeUInt32BE(bytes.length, 2);
  Buffer.from(bytes).copy(m, 6);
  return m;
}

// A service as nice-grpc-web's normalized definition (its own format, no generated code).
function niceMethods(service) {
  const svc = registry.getService(service);
  const methods = {};
  for (const m of svc.methods) {
    methods[m.localName] = {
      path: `/${svc.typeName}/${m.name}`,
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: (o) => encode(m.input, o),
      requestDeserialize: (b) => decode(m.input, b),
      responseSerialize: () => { throw new Error('client only'); },
      responseDeserialize: (b) => decode(m.output, b),
      options: {},
    };
  }
  return methods;
}

// GET /debug/bridge as an object.
async function counters(bridge) {
  const r = await fetch(bridge.url + '/debug/bridge');
  return r.json();
}

module.exports = {
  Proc, counters, decode, deadline, encode, method, niceMethods, registry, runfile, startAgent,
  startBridge, tmpdir, waitFor, wsData,
};
