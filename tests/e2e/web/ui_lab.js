// The lab half of the browser test: ui_lab_test.py built the NATs and started the agents and
// bridges; here a Chromium runs in each agent's namespace and the shared scenario drives them.
"use strict";
const test = require("node:test");
const path = require("node:path");
const { OUT, TMP } = require("./procs");
const { scenario, launch } = require("./ui_scenario");

const lab = JSON.parse(process.env.PEERLINK_UI_LAB);
// Chromium started through `ip netns exec` (the wrapper), so it sees what that host sees.
const inNetns = (side) =>
  launch(path.join(TMP, `chromium-${side}`), {
    executablePath: path.join(__dirname, "chromium_netns.sh"),
    env: { ...process.env, PEERLINK_NETNS: lab[side].ns },
  });

test("the browser UI drives two agents behind lab NATs", async (t) => {
  const [ca, cb] = [await inNetns("alice"), await inNetns("bob")];
  try {
    await scenario(t, {
      a: await ca.newPage(),
      b: await cb.newPage(),
      alice: lab.alice,
      bob: lab.bob,
      kind: lab.kind,
      file: lab.file,
      out: OUT,
      // ui_lab_test.py reaps it; the pages must notice on their own.
      stopBob: async () => process.kill(lab.bob.pid, "SIGTERM"),
    });
  } finally {
    await ca.close();
    await cb.close();
  }
});
