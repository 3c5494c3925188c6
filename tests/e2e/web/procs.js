// The real programs under test, started on loopback with port 0: each prints one line of
// key=value fields (its addresses) at start, which we wait for with a deadline; stderr goes to
// a log in the test's outputs.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const OUT =
  process.env.TEST_UNDECLARED_OUTPUTS_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "ui-out-"));
const TMP = process.env.TEST_TMPDIR || fs.mkdtempSync(path.join(os.tmpdir(), "ui-tmp-"));

/** A Bazel data dependency, from the runfiles tree (or the work tree when run by hand). */
function runfile(rel) {
  for (const base of [path.join(process.env.TEST_SRCDIR || "", "peerlink"), process.cwd()]) {
    const p = path.join(base, rel);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`missing data dependency ${rel}`);
}

const running = [];

/** Starts argv; resolves with {fields, line, proc, log} once the address line is out. */
function start(name, argv, deadlineMs = 20_000) {
  const log = path.join(OUT, `${name}.log`);
  const err = fs.openSync(log, "a");
  const proc = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", err] });
  fs.closeSync(err);
  const entry = { name, proc, log, exited: null };
  running.push(entry);
  proc.on("exit", (code, sig) => (entry.exited = { code, sig }));
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      reject(new Error(`${name} printed no address line in ${deadlineMs / 1000} s (log: ${log})`));
    }, deadlineMs);
    proc.stdout.on("data", (chunk) => {
      if (buf.includes("\n")) return; // keep draining; only the first line matters
      buf += chunk;
      if (!buf.includes("\n")) return;
      clearTimeout(timer);
      const line = buf.split("\n")[0];
      const fields = Object.fromEntries(
        [...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
      );
      resolve(Object.assign(entry, { line, fields }));
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before printing its addresses (log: ${log})`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within the deadline. */
async function stop(entry, deadlineMs = 10_000) {
  if (entry.exited) return entry.exited;
  const done = new Promise((r) => entry.proc.once("exit", (code, sig) => r({ code, sig })));
  entry.proc.kill("SIGTERM");
  const timer = setTimeout(() => entry.proc.kill("SIGKILL"), deadlineMs);
  const how = await done;
  clearTimeout(timer);
  return how;
}

async function stopAll() {
  await Promise.all(
    running
      .splice(0)
      .reverse()
      .map((e) => stop(e)),
  );
}

/** Does `program --help` mention this flag? (Lets the test use a flag once the agent has it.) */
function hasFlag(program, flag) {
  const { spawnSync } = require("node:child_process");
  const r = spawnSync(program, ["--help"], { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.includes(flag);
}

module.exports = { OUT, TMP, runfile, start, stop, stopAll, hasFlag };
