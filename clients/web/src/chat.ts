// Chat with the chosen peer on any delivery, with each message's delivery state.
import { describeError, QUICK_MS, type AgentClient } from "./api";
import { Delivery } from "./gen/peerlink/v1/agent_pb";
import { byId, el, setText } from "./dom";
import * as fmt from "./format";
import type { PeerChoice } from "./peer_choice";
import type { Store } from "./store";

/** Reliable and QUIC sends answer after the peer's acknowledgement, which may take retries. */
const SEND_MS = QUICK_MS + 10_000;
const MAX_LINES = 200;

export function chatView(store: Store, client: AgentClient, choice: PeerChoice): void {
  const log = byId<HTMLOListElement>("chat-log");
  const form = byId<HTMLFormElement>("chat-form");
  const text = byId<HTMLInputElement>("chat-text");
  const deliverySel = byId<HTMLSelectElement>("chat-delivery");
  const send = byId<HTMLButtonElement>("chat-send");
  deliverySel.replaceChildren(
    ...fmt.DELIVERIES.map((d) => el("option", { value: String(d.value) }, d.label)),
  );
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();

  /** Appends a message; returns its state text, whose parent carries data-state. */
  const line = (
    dir: "in" | "out",
    peer: string,
    d: Delivery,
    body: string,
    state: string,
  ): HTMLElement => {
    const stateEl = el("span", { class: "state" }, state);
    const who = dir === "out" ? `you → ${store.peerName(peer)}` : `${store.peerName(peer)} → you`;
    const li = el(
      "li",
      {
        class: dir,
        "data-dir": dir,
        "data-delivery": fmt.delivery(d),
        "data-state": dir === "in" ? "received" : "sending",
      },
      el("span", { class: "who" }, who),
      " ",
      el("span", { class: "badge" }, fmt.delivery(d)),
      " ",
      el("span", { class: "text" }, body),
      " ",
      stateEl,
    );
    log.append(li);
    while (log.children.length > MAX_LINES) log.firstElementChild?.remove();
    li.scrollIntoView({ block: "nearest" });
    return stateEl;
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const peer = choice.current();
    const body = text.value;
    if (!peer || body === "") return;
    const d = Number(deliverySel.value) as Delivery;
    const state = line("out", peer, d, body, "sending…");
    const li = state.parentElement as HTMLElement;
    text.value = "";
    client
      .send({ peerId: peer, delivery: d, data: encoder.encode(body) }, { timeoutMs: SEND_MS })
      .then((r) => {
        // A datagram is only sent; reliable and QUIC messages are acknowledged by the peer.
        const acked = d === Delivery.RELIABLE || d === Delivery.QUIC_STREAM || d === Delivery.TCP;
        li.dataset.state = acked ? "acknowledged" : "sent";
        setText(state, `${acked ? "✓ acknowledged" : "sent"} #${r.sequence}`);
      })
      .catch((err) => {
        li.dataset.state = "failed";
        state.setAttribute("role", "alert");
        setText(state, `✗ ${describeError(`Send (${fmt.delivery(d)})`, err)}`);
      });
  });

  store.on("message", (m) => line("in", m.peerId, m.delivery, decoder.decode(m.data), "received"));
  choice.onChange(() => {
    send.disabled = choice.current() === "";
  });
}
