'use strict';
// The bridge's security rules against a real agent: Origin and Host checks, the browser token
// (header, cookie, ?token= login), the agent token that never reaches the page, bounded
// message sizes, malformed frames closed with a protocol error and a counted reason, and the
// static UI. Raw `ws` and fetch clients show what the gRPC libraries hide.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const niceGrpc = require('nice-grpc-web');
const {createClient} = require('@connectrpc/connect');
const {createGrpcWebTransport} = require('@connectrpc/connect-web');
const h = require('./harness');

const DEADLINE = 20000;
const GET_STATUS = '/peerlink.v1.Agent/GetStatus';

// One grpc-websockets call made by hand: the messages the server sent, and how it closed.
function rawCall(url, {headers = '', frames = [], halfClose = true, wsOptions = {}} = {}) {
  return h.deadline(new Promise((resolve) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), ['grpc-websockets'], wsOptions);
    const received = [];
    ws.on('open', () => {
      ws.send(Buffer.from(headers));
      for (const f of frames) ws.send(f);
      if (halfClose) ws.send(Buffer.from([1]));
    });
    ws.on('message', (d) => received.push(Buffer.from(d)));
    ws.on('unexpected-response', (req, res) => resolve({refused: res.statusCode, received}));
    ws.on('error', (e) => resolve({error: e.message, received}));
    ws.on('close', (code, reason) => resolve({code, reason: reason.toString(), received}));
  }), DEADLINE, 'raw grpc-websockets call');
}

const dataMessage = h.wsData;

// Metadata frames (0x80) in what the server sent, parsed into objects.
function metadataFrames(received) {
  return received.filter((b) => b[0] === 0x80).map((b) => {
    const o = {};
    for (const line of b.subarray(5).toString().split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) o[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return o;
  });
}

function niceClient(url, service) {
  return niceGrpc.createClient(h.niceMethods(service),
      niceGrpc.createChannel(url, niceGrpc.WebsocketTransport()));
}

function grpcWebPost(url, body, headers = {}) {
  return fetch(url + GET_STATUS, {
    method: 'POST', body,
    headers: {'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', ...headers},
  });
}

let agent, bridge;
test.before(async () => {
  agent = await h.startAgent();
  bridge = await h.startBridge(agent, ['--allow-origin', 'http://localhost:5173',
    '--max-message', '1024', '--ui', h.tmpdir('no-ui')]);
});
test.after(async () => {
  assert.strictEqual(await bridge.stop(), 0);
  assert.strictEqual(await agent.stop(), 0);
});

test('a clean call: header frame, message, trailer frame, Close 1000', async () => {
  const r = await rawCall(bridge.url + GET_STATUS, {frames: [dataMessage([])]});
  assert.strictEqual(r.code, 1000);
  assert.strictEqual(r.received.length, 3);
  const [hdr, trailer] = metadataFrames(r.received);
  assert.strictEqual(hdr['content-type'], 'application/grpc-web+proto');
  assert.strictEqual(trailer['grpc-status'], '0');
});

test('Origin: only the page\'s own and --allow-origin ones', async () => {
  const own = await rawCall(bridge.url + GET_STATUS,
      {frames: [dataMessage([])], wsOptions: {origin: bridge.url}});
  assert.strictEqual(own.code, 1000);
  const before = (await h.counters(bridge)).refused.origin;
  const evil = await rawCall(bridge.url + GET_STATUS, {wsOptions: {origin: 'http://evil.example'}});
  assert.ok(evil.refused || evil.error, JSON.stringify(evil));
  const post = await grpcWebPost(bridge.url, Buffer.alloc(5), {origin: 'http://evil.example'});
  assert.strictEqual(post.status, 403);
  assert.strictEqual((await h.counters(bridge)).refused.origin, before + 2);
  // An allowed page on another origin gets CORS headers, and its preflight is answered.
  const ok = await grpcWebPost(bridge.url, Buffer.alloc(5), {origin: 'http://localhost:5173'});
  assert.strictEqual(ok.status, 200);
  assert.strictEqual(ok.headers.get('access-control-allow-origin'), 'http://localhost:5173');
  assert.match(ok.headers.get('access-control-expose-headers'), /grpc-status/);
  const pre = await fetch(bridge.url + GET_STATUS, {method: 'OPTIONS', headers: {
    'origin': 'http://localhost:5173', 'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type,x-grpc-web'}});
  assert.strictEqual(pre.status, 204);
  assert.strictEqual(pre.headers.get('access-control-allow-methods'), 'POST');
});

test('Host: another name for 127.0.0.1 (DNS rebinding) is refused', async () => {
  const r = await rawCall(bridge.url + GET_STATUS,
      {wsOptions: {headers: {host: 'rebind.example:' + bridge.fields.listen.split(':')[1]}}});
  assert.ok(r.refused || r.error, JSON.stringify(r));
  assert.ok((await h.counters(bridge)).refused.host >= 1);
});

test('sizes: a request over --max-message is RESOURCE_EXHAUSTED on both transports', async () => {
  const ws = await rawCall(bridge.url + GET_STATUS, {frames: [dataMessage(Buffer.alloc(2000))]});
  assert.strictEqual(ws.code, 1000);
  const trailer = metadataFrames(ws.received).pop();
  assert.strictEqual(trailer['grpc-status'], '8');
  assert.match(decodeURIComponent(trailer['grpc-message']), /2000 bytes is over the bridge's limit of 1024/);
  const tr = createGrpcWebTransport({baseUrl: bridge.url});
  const api = createClient(h.registry.getService('peerlink.v1.Agent'), tr);
  await assert.rejects(api.connect({peerId: 'a'.repeat(2000)}), (e) => e.code === 8);
  const nice = niceClient(bridge.url, 'peerlink.v1.Agent');
  await assert.rejects(nice.connect({peerId: 'a'.repeat(2000)}),
      (e) => e.code === niceGrpc.Status.RESOURCE_EXHAUSTED);
  assert.ok((await h.counters(bridge)).refused.too_big >= 3);
});

test('malformed frames: Close 1002 with the reason, counted and logged', async () => {
  const cases = [
    {frames: [Buffer.from([7, 1, 2])], reason: 'bad_type'},
    {frames: [Buffer.from([1, 0])], halfClose: false, reason: 'bad_half_close'},
    {frames: [dataMessage([1], 0x80)], reason: 'client_trailer'},
    {frames: [dataMessage([1], 0x01)], reason: 'compressed'},
    {frames: [Buffer.from([0, 0, 0, 0])], reason: 'truncated'},
    {headers: 'no colon here\r\n', reason: 'bad_headers'},
    {headers: 'x: ' + 'y'.repeat(9000), reason: 'headers_too_big'},
  ];
  for (const c of cases) {
    const r = await rawCall(bridge.url + GET_STATUS, c);
    assert.strictEqual(r.code, 1002, `${c.reason}: ${JSON.stringify(r)}`);
    assert.strictEqual(r.reason, c.reason);
  }
  const refused = (await h.counters(bridge)).refused;
  for (const c of cases) assert.ok(refused[c.reason] >= 1, c.reason);
  await h.waitFor(() => /event=refused reason=bad_type transport=ws/.test(bridge.stderr()),
      DEADLINE, 'log line for the refusal');
  // A malformed gRPC-Web body: INTERNAL naming the reason, and the connection closes.
  const bad = await grpcWebPost(bridge.url, Buffer.from([0x80, 0, 0, 0, 0]));
  assert.strictEqual(bad.headers.get('grpc-status'), '13');
  assert.match(decodeURIComponent(bad.headers.get('grpc-message')), /client_trailer/);
});

test('static files: "not built" page, files from --ui, nothing outside it', async () => {
  let r = await fetch(bridge.url + '/');
  assert.strictEqual(r.status, 200);
  assert.match(await r.text(), /UI is not built/);
  const ui = h.tmpdir('ui');
  fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>peerlink</title>');
  fs.writeFileSync(path.join(ui, 'app.js'), 'console.log(1)');
  const b2 = await h.startBridge(agent, ['--ui', ui]);
  try {
    r = await fetch(b2.url + '/');
    assert.strictEqual(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await r.text(), /<title>peerlink/);
    r = await fetch(b2.url + '/app.js');
    assert.match(r.headers.get('content-type'), /javascript/);
    assert.strictEqual(await r.text(), 'console.log(1)');
    for (const p of ['/nope.js', '/.hidden', '/%2e%2e/etc/passwd']) {
      r = await fetch(b2.url + p);
      assert.strictEqual(r.status, 404, p);
    }
  } finally {
    assert.strictEqual(await b2.stop(), 0);
  }
});

test('--token: presented as metadata, header or cookie; never needed by the agent', async () => {
  const b = await h.startBridge(agent, ['--token', 's3cret']);
  try {
    await assert.rejects(niceClient(b.url, 'peerlink.v1.Agent').getStatus({}),
        (e) => e.code === niceGrpc.Status.UNAUTHENTICATED && /token/.test(e.details));
    const ok = await niceClient(b.url, 'peerlink.v1.Agent').getStatus({},
        {metadata: niceGrpc.Metadata({'x-peerlink-token': 's3cret'})});
    assert.strictEqual(ok.id, agent.fields.id);
    const api = (headers) => createClient(h.registry.getService('peerlink.v1.Agent'),
        createGrpcWebTransport({baseUrl: b.url, interceptors: [(next) => (req) => {
          for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
          return next(req);
        }]}));
    await assert.rejects(api({}).getStatus({}), (e) => e.code === 16);
    assert.strictEqual((await api({'x-peerlink-token': 's3cret'}).getStatus({})).id, agent.fields.id);
    // The UI without the token: 401 with how to log in; ?token= sets the cookie.
    assert.strictEqual((await fetch(b.url + '/')).status, 401);
    assert.strictEqual((await fetch(b.url + '/?token=wrong', {redirect: 'manual'})).status, 401);
    const login = await fetch(b.url + '/?token=s3cret', {redirect: 'manual'});
    assert.strictEqual(login.status, 303);
    assert.strictEqual(login.headers.get('location'), '/');
    const cookie = login.headers.get('set-cookie');
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const jar = cookie.split(';')[0];
    assert.strictEqual((await fetch(b.url + '/', {headers: {cookie: jar}})).status, 200);
    assert.strictEqual((await api({cookie: jar}).getStatus({})).id, agent.fields.id);
    const ws = await rawCall(b.url + GET_STATUS,
        {frames: [dataMessage([])], wsOptions: {headers: {cookie: jar}}});
    assert.strictEqual(metadataFrames(ws.received).pop()['grpc-status'], '0');
  } finally {
    assert.strictEqual(await b.stop(), 0);
  }
});

test('--agent-token reaches the agent and never the page', async () => {
  const secured = await h.startAgent(['--token', 'agent-only-secret']);
  const without = await h.startBridge(secured);
  const withTok = await h.startBridge(secured, ['--agent-token', 'agent-only-secret']);
  try {
    const denied = await rawCall(without.url + GET_STATUS, {frames: [dataMessage([])]});
    assert.strictEqual(metadataFrames(denied.received).pop()['grpc-status'], '16');
    // The page's own authorization header is not forwarded either.
    const r = await rawCall(withTok.url + GET_STATUS,
        {headers: 'authorization: Bearer page-guess\r\n', frames: [dataMessage([])]});
    assert.strictEqual(metadataFrames(r.received).pop()['grpc-status'], '0');
    const post = await grpcWebPost(withTok.url, Buffer.alloc(5));
    const seen = Buffer.concat([...r.received, Buffer.from(await post.arrayBuffer()),
      Buffer.from(JSON.stringify([...post.headers]))]).toString('latin1');
    assert.ok(!seen.includes('agent-only-secret'), 'the agent token reached the client');
  } finally {
    assert.strictEqual(await withTok.stop(), 0);
    assert.strictEqual(await without.stop(), 0);
    assert.strictEqual(await secured.stop(), 0);
  }
});

test('a non-loopback --listen needs --token', async () => {
  await assert.rejects(h.Proc.start([h.runfile('control/bridge/peerlink-bridge'), '--listen',
    '0.0.0.0:0', '--agent', agent.fields.control], 'bridge-open'), /exited with 2/);
});
