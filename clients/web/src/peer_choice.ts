// The "Peer" select: which connected peer chat, benchmark and file transfer talk to.
import { byId, el } from "./dom";
import { PathKind } from "./gen/peerlink/v1/agent_pb";
import * as fmt from "./format";
import type { Store } from "./store";

export interface PeerChoice {
  /** The chosen peer's ID, or "" when there is no pairing. */
  current(): string;
  /** Called after the choice (or the set of connected peers) changed. */
  onChange(fn: () => void): void;
}

export function peerChoice(store: Store): PeerChoice {
  const select = byId<HTMLSelectElement>("peer-select");
  const listeners: (() => void)[] = [];
  let last = "";
  let shown = "";

  const render = (): void => {
    // Peers whose path is down stay listed: a Send then says why it fails instead of nothing.
    const up = [...store.paths.values()].filter((p) => p.kind !== PathKind.UNSPECIFIED);
    const keep = select.value;
    const labels = up.map((p) => [
      p.peerId,
      `${store.peerName(p.peerId)} (${fmt.isUp(p) ? fmt.pathKind(p.kind) : "no path"})`,
    ]);
    if (labels.length === 0) labels.push(["", "connect to a peer first"]);
    // Rebuild only when the options change: a periodic refresh must not close an open list.
    const sig = JSON.stringify(labels);
    if (sig !== shown) {
      shown = sig;
      select.replaceChildren(...labels.map(([v, t]) => el("option", { value: v }, t)));
      if (up.some((p) => p.peerId === keep)) select.value = keep;
    }
    select.disabled = up.length === 0;
    if (select.value !== last) {
      last = select.value;
      for (const fn of listeners) fn();
    }
  };
  select.addEventListener("change", render);
  store.on("paths", render);
  store.on("peers", render);
  return {
    current: () => select.value,
    onChange: (fn) => {
      listeners.push(fn);
      fn();
    },
  };
}
