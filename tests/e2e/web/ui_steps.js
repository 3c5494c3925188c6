// What a person does and sees on an agent's page, as steps that wait (with a deadline) for
// what the page shows: never a fixed sleep.
"use strict";
const assert = require("node:assert/strict");

const DELIVERIES = ["datagram", "reliable", "QUIC stream", "TCP"];

/** Waits until fn(arg) is truthy in the page; on timeout says what it waited for. */
async function until(page, what, fn, arg, timeout = 20_000) {
  try {
    return await (await page.waitForFunction(fn, arg, { timeout, polling: 100 })).jsonValue();
  } catch (e) {
    const text = await page.evaluate(() => document.body.innerText).catch(() => "(page gone)");
    throw new Error(
      `${what}: not seen in ${timeout / 1000} s (${e.message.split("\n")[0]})\n--- page text ---\n${text}`,
    );
  }
}

async function agentShown(page, fields) {
  await until(
    page,
    `agent ${fields.name} shown as registered and live`,
    (f) => {
      const t = (s) => document.querySelector(s)?.textContent ?? "";
      return (
        t("#a-id") === f.id &&
        t("#a-name") === f.name &&
        t("#link").startsWith("live") &&
        document.querySelector("#a-rdv")?.dataset.state === "registered"
      );
    },
    fields,
  );
}

async function peerListed(page, id) {
  await page.locator(`#peer-list li[data-peer="${id}"] button`).waitFor({ timeout: 20_000 });
}

/** Presses Tab from the top of the page until the control named `name` has the focus. */
async function tabTo(page, name, maxTabs = 40) {
  await page.evaluate(
    () => document.activeElement instanceof HTMLElement && document.activeElement.blur(),
  );
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const e = document.activeElement;
      return e ? e.getAttribute("aria-label") || e.textContent.trim() : "";
    });
    if (focused === name) return i + 1;
  }
  throw new Error(`"${name}" not reached with ${maxTabs} Tab presses`);
}

async function pathUp(page, peerId, kind, timeout = 25_000) {
  await until(
    page,
    `path to ${peerId} is ${kind}`,
    ([id, k]) =>
      document.querySelector(`.card[data-peer="${id}"] [data-field=kind]`)?.textContent === k,
    [peerId, kind],
    timeout,
  );
}

async function pathDown(page, peerId, timeout = 30_000) {
  await until(
    page,
    `path to ${peerId} shown closed`,
    (id) =>
      document.querySelector(`.card[data-peer="${id}"] [data-field=kind]`)?.textContent === "none",
    peerId,
    timeout,
  );
}

async function connectedMessage(page, peerId) {
  await until(
    page,
    "Connect's result shown by the button",
    (id) =>
      /Connected: \w+ path in \d+ ms/.test(
        document.querySelector(`li[data-peer="${id}"] .msg`)?.textContent ?? "",
      ),
    peerId,
  );
}

/** Types a message and presses Enter; returns its final delivery state and text. */
async function chat(page, delivery, text, timeout = 30_000) {
  await page.selectOption("#chat-delivery", { label: delivery });
  await page.fill("#chat-text", text);
  await page.press("#chat-text", "Enter");
  return until(
    page,
    `"${text}" (${delivery}) sent or failed`,
    (t) => {
      const li = [...document.querySelectorAll("#chat-log li[data-dir=out]")]
        .filter((e) => e.querySelector(".text")?.textContent === t)
        .pop();
      return li && li.dataset.state !== "sending"
        ? { state: li.dataset.state, text: li.textContent }
        : null;
    },
    text,
    timeout,
  );
}

async function received(page, delivery, text) {
  await until(
    page,
    `"${text}" received (${delivery})`,
    ([d, t]) =>
      [...document.querySelectorAll(`#chat-log li[data-dir=in]`)].some(
        (e) => e.dataset.delivery === d && e.querySelector(".text")?.textContent === t,
      ),
    [delivery, text],
  );
}

/** A failure a person understands: what failed, the status, and the agent's own words. */
function assertClearFailure(text, what) {
  assert.match(
    text,
    new RegExp(`${what.replace(/[()]/g, "\\$&")} failed \\([A-Z_]+: [^)]+\\) — \\S`),
    `a clear failure message for ${what}: ${text}`,
  );
}

/** Waits until the status line `sel` ends in success or failure: {kind: "ok"|"error", text}. */
function outcome(page, what, sel, timeout) {
  return until(
    page,
    `${what} finished or failed`,
    (q) => {
      const m = document.querySelector(q);
      return m && (m.dataset.kind === "ok" || m.dataset.kind === "error")
        ? { kind: m.dataset.kind, text: m.textContent }
        : null;
    },
    sel,
    timeout,
  );
}

/** Runs a benchmark; its outcome plus the chart's point count and the final table's rows. */
async function benchmark(page, transport, seconds) {
  await page.selectOption("#bench-transport", { label: transport });
  await page.fill("#bench-duration", String(seconds));
  await page.click("#bench-start");
  const r = await outcome(page, "the benchmark", "#bench-msg", seconds * 1000 + 45_000);
  return Object.assign(
    r,
    await page.evaluate(() => ({
      points: Number(document.querySelector("#bench-chart").dataset.points || 0),
      rows: [...document.querySelectorAll("#bench-result tbody tr")].map((tr) =>
        [...tr.children].map((c) => c.textContent),
      ),
    })),
  );
}

/** Sends a file; its outcome plus whether the progress bar is full. */
async function sendFile(page, file) {
  await page.fill("#file-path", file);
  await page.click("#file-send");
  const r = await outcome(page, "the file transfer", "#file-msg", 60_000);
  const full = await page.evaluate(() => {
    const bar = document.querySelector("#file-progress");
    return bar.value === bar.max;
  });
  return Object.assign(r, { full });
}

async function fileReceived(page, name, sha) {
  await until(
    page,
    `${name} shown as received and verified`,
    ([n, s]) =>
      [...document.querySelectorAll("#files-in li.ok")].some(
        (e) => e.textContent.includes(n) && e.textContent.includes(s),
      ),
    [name, sha],
  );
}

async function agentLost(page) {
  await until(
    page,
    "the page says its agent is unreachable",
    () => {
      const b = document.querySelector("#banner");
      return (
        b &&
        !b.hidden &&
        /Retrying in/.test(b.textContent) &&
        (document.querySelector("#link")?.textContent ?? "").startsWith("offline")
      );
    },
    undefined,
    30_000,
  );
}

module.exports = {
  DELIVERIES,
  until,
  agentShown,
  peerListed,
  tabTo,
  pathUp,
  pathDown,
  connectedMessage,
  chat,
  received,
  assertClearFailure,
  benchmark,
  sendFile,
  fileReceived,
  agentLost,
};
