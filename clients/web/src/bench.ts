// The benchmark panel: start and stop a run, chart its interval reports, show both ends' totals.
import { describeError, type AgentClient } from "./api";
import { BenchmarkTransport, type BenchmarkReport } from "./gen/peerlink/v1/agent_pb";
import { ThroughputChart } from "./chart";
import { byId, el, say } from "./dom";
import * as fmt from "./format";
import type { PeerChoice } from "./peer_choice";

const INTERVAL_MS = 500;
/** The run's own length plus this much for setup and the receiver's report. */
const GRACE_MS = 30_000;

function finalRows(r: BenchmarkReport): [string, string, string][] {
  const udp = r.transport === BenchmarkTransport.UDP;
  const rows: [string, string, string][] = [
    ["Bytes", fmt.bytes(r.bytesSent), fmt.bytes(r.bytesReceived)],
    ["Rate", fmt.bits(r.senderBps), fmt.bits(r.receiverBps)],
    [udp ? "Datagrams" : "Chunks", String(r.packetsSent), String(r.packetsReceived)],
  ];
  if (udp) {
    rows.push(["Lost", "", String(r.lost)]);
    rows.push(["Out of order", "", String(r.outOfOrder)]);
    rows.push(["Jitter", "", `${(r.jitterUs / 1000).toFixed(3)} ms`]);
  }
  rows.push(["CPU", `${r.senderCpuSeconds.toFixed(2)} s`, `${r.receiverCpuSeconds.toFixed(2)} s`]);
  rows.push(["Duration", fmt.ms(r.elapsedMs), ""]);
  return rows;
}

export function benchView(client: AgentClient, choice: PeerChoice): void {
  const form = byId<HTMLFormElement>("bench-form");
  const start = byId<HTMLButtonElement>("bench-start");
  const stop = byId<HTMLButtonElement>("bench-stop");
  const msg = byId("bench-msg");
  const table = byId<HTMLTableElement>("bench-result");
  const chart = new ThroughputChart(byId<HTMLCanvasElement>("bench-chart"));
  chart.draw();
  let running: AbortController | undefined;

  const showFinal = (r: BenchmarkReport): void => {
    const body = table.tBodies[0];
    body.replaceChildren(
      ...finalRows(r).map(([k, tx, rx]) =>
        el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, tx), el("td", {}, rx)),
      ),
    );
    table.hidden = false;
  };

  const run = async (): Promise<void> => {
    const peer = choice.current();
    if (!peer || running) return;
    const seconds = Math.max(1, Number(byId<HTMLInputElement>("bench-duration").value) || 3);
    const mbit = Math.max(0, Number(byId<HTMLInputElement>("bench-rate").value) || 0);
    const transport = Number(
      byId<HTMLSelectElement>("bench-transport").value,
    ) as BenchmarkTransport;
    const ctl = new AbortController();
    running = ctl;
    const hadFocus = document.activeElement === start;
    stop.disabled = false;
    start.disabled = true;
    if (hadFocus) stop.focus(); // keep keyboard users on a live control
    table.hidden = true;
    chart.reset();
    say(msg, `Starting a ${seconds} s benchmark…`);
    let final: BenchmarkReport | undefined;
    try {
      const stream = client.benchmark(
        {
          peerId: peer,
          transport,
          durationMs: seconds * 1000,
          rateBps: BigInt(Math.round(mbit * 1e6)),
          intervalMs: INTERVAL_MS,
          reverse: byId<HTMLInputElement>("bench-reverse").checked,
        },
        { signal: ctl.signal, timeoutMs: seconds * 1000 + GRACE_MS },
      );
      for await (const res of stream) {
        const r = res.report;
        if (!r) continue;
        if (r.final) {
          final = r;
          showFinal(r);
          continue;
        }
        chart.add(Number(r.elapsedMs), r.receiverBps, r.senderBps);
        say(
          msg,
          `Running: ${(Number(r.elapsedMs) / 1000).toFixed(1)} s of ${seconds} s, ${fmt.bits(r.receiverBps)} received`,
        );
      }
      if (final)
        say(
          msg,
          `Done: ${fmt.bits(final.receiverBps)} received over ${fmt.ms(final.elapsedMs)}.`,
          "ok",
        );
      else say(msg, "The benchmark ended without a summary from the agent.", "error");
    } catch (e) {
      if (ctl.signal.aborted) say(msg, "Stopped.", "info");
      else say(msg, describeError("Benchmark", e), "error");
    } finally {
      running = undefined;
      start.disabled = choice.current() === "";
      if (document.activeElement === stop && !start.disabled) start.focus();
      stop.disabled = true;
    }
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void run();
  });
  stop.addEventListener("click", () => running?.abort());
  choice.onChange(() => {
    start.disabled = running !== undefined || choice.current() === "";
  });
}
