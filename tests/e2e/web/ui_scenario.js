// What the browser test does with two agents' pages, wherever the agents run (loopback, or
// behind lab NATs): connect from the UI by keyboard, chat both ways on every delivery the agent
// has, a benchmark, a file, phone width, then one agent stops and both pages must say so.
"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const ui = require("./ui_steps");

/**
 * s: { a, b: the pages; alice, bob: { url, fields (the agent's address line) };
 *      kind: the path kind expected ("direct" or "relay"); file: a path on alice's machine;
 *      out: where screenshots go; stopBob: async () => stops bob's agent }
 */
async function scenario(t, s) {
  const { a, b, alice, bob } = s;
  const problems = [];
  for (const [p, n] of [
    [a, "alice"],
    [b, "bob"],
  ]) {
    p.on("pageerror", (e) => problems.push(`${n}: page error: ${e.message}`));
    p.on(
      "console",
      (m) =>
        m.type() === "error" &&
        fs.appendFileSync(path.join(s.out, `console-${n}.log`), `${m.text()}\n`),
    );
  }
  const shot = (page, name) =>
    page.screenshot({ path: path.join(s.out, `${name}.png`), fullPage: true });

  await t.test("each page shows its agent live", async () => {
    await a.goto(alice.url);
    await b.goto(bob.url);
    await ui.agentShown(a, alice.fields);
    await ui.agentShown(b, bob.fields);
    await ui.peerListed(a, bob.fields.id);
    await ui.peerListed(b, alice.fields.id);
    await shot(a, "01-alice-registered");
  });

  await t.test(
    `Connect from the UI, by keyboard, reaches a ${s.kind} path on both sides`,
    async () => {
      await ui.tabTo(a, "Connect to bob");
      await a.keyboard.press("Enter");
      await ui.pathUp(a, bob.fields.id, s.kind);
      await ui.pathUp(b, alice.fields.id, s.kind);
      await ui.connectedMessage(a, bob.fields.id);
      await shot(a, "02-alice-connected");
      await shot(b, "02-bob-connected");
    },
  );

  await t.test("chat both ways on every delivery the agent has", async () => {
    const works = [];
    for (const d of ui.DELIVERIES) {
      const sent = await ui.chat(a, d, `hello bob via ${d}`);
      if (sent.state === "failed") {
        ui.assertClearFailure(sent.text, `Send (${d})`);
        continue;
      }
      await ui.received(b, d, `hello bob via ${d}`);
      const back = await ui.chat(b, d, `hi alice via ${d}`);
      assert.notEqual(back.state, "failed", `bob's ${d} reply failed: ${back.text}`);
      await ui.received(a, d, `hi alice via ${d}`);
      works.push(d);
    }
    // Every delivery that rides the UDP path must work; TCP punching runs on its own schedule
    // after the UDP path (and not across every NAT pair), so it may still answer "no TCP path".
    for (const d of ui.DELIVERIES.filter((x) => x !== "TCP"))
      assert.ok(works.includes(d), `${d} chat works both ways (working: ${works.join(", ")})`);
    fs.writeFileSync(path.join(s.out, "deliveries.txt"), `working: ${works.join(", ")}\n`);
    await shot(a, "03-alice-chat");
    await shot(b, "03-bob-chat");
  });

  await t.test("a benchmark shows a live chart and both ends' numbers", async () => {
    const r = await ui.benchmark(a, "UDP", 2);
    assert.notEqual(r.kind, "error", `the UDP benchmark ran: ${r.text}`);
    assert.ok(r.points >= 1, `the chart has interval points (${r.points})`);
    const bytes = r.rows.find(([k]) => k === "Bytes");
    assert.ok(
      bytes && bytes[2] !== "0 B",
      `the receiver's bytes are shown: ${JSON.stringify(r.rows)}`,
    );
    await shot(a, "04-alice-benchmark");
  });

  await t.test("send a file with progress and a verified result", async () => {
    const data = crypto.randomBytes(300 * 1024);
    fs.writeFileSync(s.file, data);
    const r = await ui.sendFile(a, s.file);
    assert.notEqual(r.kind, "error", `the file was sent: ${r.text}`);
    const sha = crypto.createHash("sha256").update(data).digest("hex");
    assert.ok(r.text.includes(sha), `the verified SHA-256 is the file's: ${r.text}`);
    assert.ok(r.full, "the progress bar is full");
    await ui.fileReceived(b, path.basename(s.file), sha);
    await shot(a, "05-alice-file");
  });

  await t.test("usable at phone width", async () => {
    await a.setViewportSize({ width: 375, height: 800 });
    await shot(a, "06-alice-phone");
    const over = await a.evaluate(() => {
      const w = window.innerWidth;
      // The innermost elements that stick out (or whose text does) say what to fix.
      const out = (e) =>
        e.getBoundingClientRect().right > w + 1 ||
        (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible");
      const all = [...document.querySelectorAll("body *")].filter(out);
      const wide = all
        .filter((e) => !all.some((o) => o !== e && e.contains(o)))
        .slice(0, 5)
        .map(
          (e) =>
            `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}: "${e.textContent.slice(0, 60)}"`,
        );
      return { by: document.documentElement.scrollWidth - w, wide };
    });
    assert.ok(
      over.by <= 0,
      `no horizontal scrolling at 375 px (${over.by} px too wide: ${over.wide.join("; ")})`,
    );
    await a.setViewportSize({ width: 1000, height: 900 });
  });

  await t.test("a stopped agent: its page says so, and a Send to it fails clearly", async () => {
    await s.stopBob();
    await ui.agentLost(b);
    await shot(b, "07-bob-agent-stopped");
    await ui.pathDown(a, bob.fields.id);
    const sent = await ui.chat(a, "datagram", "are you there?");
    assert.equal(sent.state, "failed", `a datagram to a stopped peer failed visibly: ${sent.text}`);
    ui.assertClearFailure(sent.text, "Send (datagram)");
    await shot(a, "07-alice-peer-gone");
  });

  assert.deepEqual(problems, [], "no JavaScript errors on the pages");
}

/** Debian's chromium, driven by playwright-core, with a fresh profile under dir. */
function launch(dir, extra = {}) {
  const { chromium } = require("playwright-core");
  return chromium.launchPersistentContext(dir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1000, height: 900 },
    ...extra,
  });
}

module.exports = { scenario, launch };
