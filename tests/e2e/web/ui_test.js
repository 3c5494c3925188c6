// The browser UI end to end on loopback, in real Chromium: a rendezvous, two agents, a bridge
// for each serving the built UI, and a page per agent (ui_scenario.js says what is checked).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { OUT, TMP, runfile, start, stop, stopAll, hasFlag } = require("./procs");
const { scenario, launch } = require("./ui_scenario");

const UI_DIR = process.env.PEERLINK_UI_DIR; // built by run_node.sh

async function startAgent(name, rdv) {
  const bin = runfile("agent/peerlink-agent");
  const argv = [
    bin,
    "--name",
    name,
    "--control",
    "127.0.0.1:0",
    "--udp",
    "127.0.0.1:0",
    "--state-dir",
    path.join(TMP, name),
    "--rendezvous",
    rdv,
    "--network",
    "ui",
  ];
  if (hasFlag(bin, "--files-dir")) {
    fs.mkdirSync(path.join(TMP, `${name}-files`), { recursive: true });
    argv.push("--files-dir", path.join(TMP, `${name}-files`));
  }
  return start(`agent-${name}`, argv);
}

async function startBridge(name, agent) {
  const b = await start(`bridge-${name}`, [
    runfile("control/bridge/peerlink-bridge"),
    "--agent",
    agent.fields.control,
    "--listen",
    "127.0.0.1:0",
    "--ui",
    UI_DIR,
  ]);
  assert.ok(b.fields.listen, `the bridge printed its listen= address: ${b.line}`);
  return Object.assign(b, { url: `http://${b.fields.listen}/` });
}

test("the browser UI drives two agents through their bridges (loopback)", async (t) => {
  assert.ok(UI_DIR && fs.existsSync(path.join(UI_DIR, "app.js")), "the UI bundle is built");
  const ctx = await launch(path.join(TMP, "chromium-profile"));
  try {
    const rdv = await start("rendezvous", [
      runfile("control/rendezvous/peerlink-rendezvous"),
      "--listen",
      "127.0.0.1:0",
      "--udp",
      "127.0.0.1:0",
      "--udp-alt",
      "127.0.0.1:0",
    ]);
    const alice = await startAgent("alice", rdv.fields.grpc);
    const bob = await startAgent("bob", rdv.fields.grpc);
    alice.url = (await startBridge("alice", alice)).url;
    bob.url = (await startBridge("bob", bob)).url;
    await scenario(t, {
      a: await ctx.newPage(),
      b: await ctx.newPage(),
      alice,
      bob,
      kind: "direct",
      file: path.join(TMP, "report.bin"),
      out: OUT,
      stopBob: () => stop(bob),
    });
  } finally {
    await ctx.close();
    await stopAll();
  }
});
