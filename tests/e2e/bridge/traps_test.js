'use strict';
// The known traps of Debian's libwebsockets 4.1.6, each checked against the real bridge:
//   - a call that ends closes its WebSocket cleanly (Close 1000, not 1006), whichever side ends
//     it: lws sends no Close frame for a close made from SERVER_WRITEABLE under libuv;
//   - a busy port fails at start, naming --listen (with a foreign loop lws_create_context
//     succeeds even when the port cannot be bound);
//   - stopping with calls and connections open exits cleanly: the loop runs after
//     lws_context_destroy until lws's handles are closed ("stopped clean=yes").

const test = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const h = require('./harness');

const DEADLINE = 20000;

// Opens a grpc-websockets call; resolves with the socket once the first server message came.
function openCall(url, path, request) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + path, ['grpc-websockets']);
  ws.received = [];
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  const first = new Promise((resolve, reject) => {
    ws.on('message', (d) => {
      ws.received.push(Buffer.from(d));
      resolve(ws);
    });
    ws.on('error', reject);
  });
  ws.on('open', () => {
    ws.send(Buffer.alloc(0));
    ws.send(h.wsData(request));
    ws.send(Buffer.from([1]));
  });
  return h.deadline(first, DEADLINE, 'first message of ' + path);
}

const status = (ws) => {
  const t = ws.received.filter((b) => b[0] === 0x80).pop().subarray(5).toString();
  return /grpc-status: (\d+)/.exec(t)[1];
};

test('calls end with a clean Close 1000, whoever ends them', async () => {
  const agent = await h.startAgent();
  const bridge = await h.startBridge(agent);
  try {
    // The agent ends it: OK and an error status.
    for (const [path, req, want] of [
      ['/peerlink.v1.Agent/GetStatus', [], '0'],
      ['/peerlink.v1.Agent/Connect', [0x0a, 0x01, 0x7a], '3'], // peer_id "z"
      ['/peerlink.v1.Nope/Nothing', [], '12'], // the bridge ends it
    ]) {
      const ws = await openCall(bridge.url, path, req);
      assert.strictEqual(await h.deadline(ws.closed, DEADLINE, 'close'), 1000, path);
      assert.strictEqual(status(ws), want, path);
    }
    // The agent goes away in the middle of a stream: UNAVAILABLE, still a clean close.
    const watch = await openCall(bridge.url, '/peerlink.v1.Agent/WatchEvents', [0x08, 0x01]);
    assert.strictEqual(await agent.stop(), 0);
    assert.strictEqual(await h.deadline(watch.closed, DEADLINE, 'close after agent stop'), 1000);
    assert.strictEqual(status(watch), '14');
  } finally {
    await bridge.stop();
    await agent.stop();
  }
});

test('a busy port fails at start and names --listen', async () => {
  const agent = await h.startAgent();
  const first = await h.startBridge(agent);
  try {
    // Through a shell, to read the exit code and the message of a program that prints no
    // address line.
    const p = await h.Proc.start(['/bin/sh', '-c', `"$0" --listen ${first.fields.listen} ` +
      `--agent ${agent.fields.control}; echo "exit=$?"`,
    h.runfile('control/bridge/peerlink-bridge')], 'bridge-busy');
    assert.strictEqual(p.line, 'exit=1');
    await p.stop();
    assert.match(p.stderr(), new RegExp(`--listen ${first.fields.listen}: cannot bind`));
    // The first bridge still serves.
    const ws = await openCall(first.url, '/peerlink.v1.Agent/GetStatus', []);
    assert.strictEqual(await ws.closed, 1000);
  } finally {
    assert.strictEqual(await first.stop(), 0);
    await agent.stop();
  }
});

test('stopping with live calls and idle connections exits cleanly', async () => {
  const agent = await h.startAgent();
  const bridge = await h.startBridge(agent);
  try {
    const watches = await Promise.all([1, 2, 3].map(() =>
      openCall(bridge.url, '/peerlink.v1.Agent/WatchEvents', [0x08, 0x01])));
    // A kept-alive HTTP connection, idle between requests.
    assert.strictEqual((await fetch(bridge.url + '/health')).status, 200);
    assert.strictEqual(await bridge.stop(), 0);
    for (const w of watches) await h.deadline(w.closed, DEADLINE, 'close at bridge stop');
    assert.match(bridge.stderr(), /event=stopped clean=yes/);
  } finally {
    await agent.stop();
  }
});
