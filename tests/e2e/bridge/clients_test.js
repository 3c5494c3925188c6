'use strict';
// Browser gRPC clients we did not write, unmodified, through peerlink-bridge to a real
// peerlink-agent: nice-grpc-web's WebsocketTransport and @improbable-eng/grpc-web's WebSocket
// transport for every call shape, @connectrpc/connect-web's gRPC-Web transport for unary and
// server streaming. In Node, the `ws` package plays the browser's WebSocket.

const test = require('node:test');
const assert = require('node:assert');
const h = require('./harness');

globalThis.WebSocket = globalThis.WebSocket || require('ws');

const niceGrpc = require('nice-grpc-web');
const {grpc} = require('@improbable-eng/grpc-web');
const {createClient} = require('@connectrpc/connect');
const {createGrpcWebTransport} = require('@connectrpc/connect-web');

const DEADLINE = 20000;
let agent, bridge;

test.before(async () => {
  agent = await h.startAgent();
  bridge = await h.startBridge(agent);
});

test.after(async () => {
  assert.strictEqual(await bridge.stop(), 0, 'bridge exit code');
  assert.strictEqual(await agent.stop(), 0, 'agent exit code');
});

// The reflection service's bidi method as client streaming: one request in, one answer out.
function niceReflectionClientStreaming() {
  const info = h.niceMethods('grpc.reflection.v1.ServerReflection').serverReflectionInfo;
  return {info: {...info, responseStream: false}};
}

const listServices = {messageRequest: {case: 'listServices', value: ''}};
const fileContaining = (s) => ({messageRequest: {case: 'fileContainingSymbol', value: s}});

test('nice-grpc-web over grpc-websockets: every call shape', async (t) => {
  const channel = niceGrpc.createChannel(bridge.url, niceGrpc.WebsocketTransport());
  const agentApi = niceGrpc.createClient(h.niceMethods('peerlink.v1.Agent'), channel);
  const health = niceGrpc.createClient(h.niceMethods('grpc.health.v1.Health'), channel);
  const reflection = niceGrpc.createClient(
      h.niceMethods('grpc.reflection.v1.ServerReflection'), channel);

  await t.test('unary', async () => {
    const st = await h.deadline(agentApi.getStatus({}), DEADLINE, 'GetStatus');
    assert.strictEqual(st.name, 'bridged');
    assert.strictEqual(st.id, agent.fields.id);
    const hc = await h.deadline(health.check({service: ''}), DEADLINE, 'Health/Check');
    assert.strictEqual(hc.status, 1); // SERVING
  });

  await t.test('server streaming, cancelled by the client', async () => {
    const ac = new AbortController();
    const kinds = [];
    await h.deadline((async () => {
      try {
        for await (const r of agentApi.watchEvents({includeCurrent: true}, {signal: ac.signal})) {
          kinds.push(r.event.kind.case);
          if (kinds.length === 2) ac.abort();
        }
      } catch (e) {
        if (e.name !== 'AbortError') throw e;
      }
    })(), DEADLINE, 'WatchEvents');
    // include_current replays the registration state first (docs/architecture.md).
    assert.strictEqual(kinds.length, 2);
    assert.strictEqual(kinds[0], 'rendezvous');
    // The closed WebSocket cancelled the agent call: the bridge freed it once the status came.
    await h.waitFor(async () => (await h.counters(bridge)).calls_active === 0, DEADLINE,
        'call freed after the WebSocket closed');
  });

  await t.test('client streaming', async () => {
    const client = niceGrpc.createClient(niceReflectionClientStreaming(), channel);
    async function* one() { yield listServices; }
    const r = await h.deadline(client.info(one()), DEADLINE, 'reflection as client streaming');
    const names = r.messageResponse.value.service.map((s) => s.name);
    assert.ok(names.includes('peerlink.v1.Agent'), names.join(','));
  });

  await t.test('bidi streaming', async () => {
    async function* requests() {
      yield listServices;
      yield fileContaining('peerlink.v1.Agent');
      yield fileContaining('no.such.Symbol');
    }
    const got = [];
    for await (const r of reflection.serverReflectionInfo(requests())) got.push(r.messageResponse.case);
    assert.deepStrictEqual(got, ['listServicesResponse', 'fileDescriptorResponse', 'errorResponse']);
  });

  await t.test('status codes: the agent\'s and the bridge\'s', async () => {
    await assert.rejects(agentApi.connect({peerId: 'not-hex'}),
        (e) => e.code === niceGrpc.Status.INVALID_ARGUMENT && /peer_id/.test(e.details));
    const rdv = niceGrpc.createClient(h.niceMethods('peerlink.v1.Rendezvous'), channel);
    await assert.rejects(rdv.listAgents({}), (e) => e.code === niceGrpc.Status.UNIMPLEMENTED &&
        /not exposed by the bridge/.test(e.details));
  });
});

// ---- @improbable-eng/grpc-web: method descriptors whose messages are dynamic ones.
function improbableMethod(service, name, shape) {
  const {svc, m} = h.method(service, name);
  const wrap = (desc) => ({
    deserializeBinary: (b) => ({msg: h.decode(desc, b), toObject() { return this.msg; }}),
  });
  return {
    methodName: m.name,
    service: {serviceName: svc.typeName},
    requestStream: shape ? shape.requestStream : m.methodKind.endsWith('_streaming') &&
        m.methodKind !== 'server_streaming',
    responseStream: shape ? shape.responseStream : m.methodKind === 'server_streaming' ||
        m.methodKind === 'bidi_streaming',
    requestType: wrap(m.input),
    responseType: wrap(m.output),
    request: (o) => ({serializeBinary: () => h.encode(m.input, o), toObject: () => o}),
  };
}

const transport = grpc.WebsocketTransport();

function improbableCall(desc, requests, {stopAfter} = {}) {
  return new Promise((resolve) => {
    const messages = [];
    const client = grpc.client(desc, {host: bridge.url, transport});
    client.onMessage((m) => {
      messages.push(m.msg);
      if (stopAfter && messages.length === stopAfter) {
        client.close();
        resolve({messages, closed: true});
      }
    });
    client.onEnd((code, message) => resolve({code, message, messages}));
    client.start();
    for (const r of requests) client.send(desc.request(r));
    client.finishSend();
  });
}

test('@improbable-eng/grpc-web over its WebSocket transport: every call shape', async (t) => {
  await t.test('unary', async () => {
    const desc = improbableMethod('peerlink.v1.Agent', 'GetStatus');
    const r = await h.deadline(new Promise((resolve) => grpc.unary(desc, {
      request: desc.request({}), host: bridge.url, transport, onEnd: resolve,
    })), DEADLINE, 'unary GetStatus');
    assert.strictEqual(r.status, grpc.Code.OK, r.statusMessage);
    assert.strictEqual(r.message.msg.name, 'bridged');
  });

  await t.test('server streaming', async () => {
    const desc = improbableMethod('peerlink.v1.Agent', 'WatchEvents');
    const r = await h.deadline(improbableCall(desc, [{includeCurrent: true}], {stopAfter: 2}),
        DEADLINE, 'WatchEvents');
    assert.strictEqual(r.messages.length, 2);
    assert.strictEqual(r.messages[0].event.kind.case, 'rendezvous');
    await h.waitFor(async () => (await h.counters(bridge)).calls_active === 0, DEADLINE,
        'call freed after close');
  });

  await t.test('client streaming', async () => {
    const desc = improbableMethod('grpc.reflection.v1.ServerReflection', 'ServerReflectionInfo',
        {requestStream: true, responseStream: false});
    const r = await h.deadline(improbableCall(desc, [listServices]), DEADLINE, 'client streaming');
    assert.strictEqual(r.code, grpc.Code.OK, r.message);
    assert.strictEqual(r.messages.length, 1);
    assert.strictEqual(r.messages[0].messageResponse.case, 'listServicesResponse');
  });

  await t.test('bidi streaming', async () => {
    const desc = improbableMethod('grpc.reflection.v1alpha.ServerReflection',
        'ServerReflectionInfo');
    const r = await h.deadline(improbableCall(desc, [listServices, fileContaining('peerlink.v1.Agent')]),
        DEADLINE, 'bidi');
    assert.strictEqual(r.code, grpc.Code.OK, r.message);
    assert.deepStrictEqual(r.messages.map((m) => m.messageResponse.case),
        ['listServicesResponse', 'fileDescriptorResponse']);
  });

  await t.test('status from the agent', async () => {
    const desc = improbableMethod('peerlink.v1.Agent', 'Connect');
    const r = await h.deadline(improbableCall(desc, [{peerId: 'not-hex'}]), DEADLINE, 'Connect');
    assert.strictEqual(r.code, grpc.Code.InvalidArgument);
    assert.match(r.message, /peer_id/);
  });
});

test('@connectrpc/connect-web over gRPC-Web (HTTP/1.1 POST): unary and server streaming',
    async (t) => {
      const tr = createGrpcWebTransport({baseUrl: bridge.url});
      const agentApi = createClient(h.registry.getService('peerlink.v1.Agent'), tr);
      const health = createClient(h.registry.getService('grpc.health.v1.Health'), tr);

      await t.test('unary', async () => {
        const st = await h.deadline(agentApi.getStatus({}), DEADLINE, 'GetStatus');
        assert.strictEqual(st.id, agent.fields.id);
        const hc = await h.deadline(health.check({service: ''}), DEADLINE, 'Check');
        assert.strictEqual(hc.status, 1);
      });

      await t.test('server streaming', async () => {
        const ac = new AbortController();
        const kinds = [];
        try {
          for await (const r of agentApi.watchEvents({includeCurrent: true}, {signal: ac.signal})) {
            kinds.push(r.event.kind.case);
            if (kinds.length === 2) ac.abort();
          }
        } catch (e) {
          if (e.code !== 1) throw e; // Code.Canceled
        }
        assert.strictEqual(kinds.length, 2);
        assert.strictEqual(kinds[0], 'rendezvous');
        await h.waitFor(async () => (await h.counters(bridge)).calls_active === 0, DEADLINE,
            'call freed after the request was aborted');
      });

      await t.test('errors: trailers-only and in the body', async () => {
        await assert.rejects(agentApi.connect({peerId: 'not-hex'}),
            (e) => e.code === 3 && /peer_id/.test(e.rawMessage));
        const rdv = createClient(h.registry.getService('peerlink.v1.Rendezvous'), tr);
        await assert.rejects(rdv.listAgents({}), (e) => e.code === 12);
      });

      await t.test('many unary calls on kept-alive connections', async () => {
        for (let i = 0; i < 50; i++) await agentApi.getStatus({});
      });
    });
