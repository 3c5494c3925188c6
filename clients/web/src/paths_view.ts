// "Connections": one card per peer with a pairing: path kind, addresses, RTT, connect time.
import { PathKind, type PeerPath } from "./gen/peerlink/v1/agent_pb";
import { byId, el } from "./dom";
import * as fmt from "./format";
import type { Store } from "./store";

function quic(p: PeerPath): string {
  if (!p.quic) return "not attempted";
  if (p.quic.established)
    return `established (${p.quic.client ? "client" : "server"}, RTT ${fmt.rtt(p.quic.rttUs)})`;
  return p.quic.detail || "not established";
}

function tcp(p: PeerPath): string {
  if (!p.tcp) return "not attempted";
  if (p.tcp.connected)
    return `connected ${fmt.endpoint(p.tcp.local)} → ${fmt.endpoint(p.tcp.remote)}`;
  return p.tcp.detail || "not connected";
}

function card(store: Store, p: PeerPath): HTMLElement {
  const up = fmt.isUp(p);
  const detail = store.pathDetail.get(p.peerId);
  const kind = el(
    "dd",
    { "data-field": "kind", "data-kind": fmt.pathKind(p.kind) },
    fmt.pathKind(p.kind),
  );
  const rows: [string, Node | string][] = [
    ["Path", kind],
    ["Local", fmt.endpoint(p.local)],
    ["Remote", fmt.endpoint(p.remote)],
    ["RTT", fmt.rtt(p.rttUs)],
    ["Connect time", p.connectMs > 0n || up ? fmt.ms(p.connectMs) : "not connected"],
    ["QUIC", quic(p)],
    ["TCP", tcp(p)],
  ];
  if (detail) rows.push(["Last change", detail]);
  const dl = el("dl");
  for (const [k, v] of rows) {
    dl.append(
      el("dt", {}, k),
      v instanceof Node
        ? v
        : el("dd", { class: k === "Local" || k === "Remote" ? "mono" : undefined }, v),
    );
  }
  return el(
    "article",
    {
      class: `card ${up ? "up" : "down"}`,
      "data-peer": p.peerId,
      "aria-label": `Connection to ${store.peerName(p.peerId)}`,
    },
    el(
      "h3",
      {},
      store.peerName(p.peerId),
      " ",
      el("span", { class: "mono muted", title: p.peerId }, fmt.shortId(p.peerId)),
    ),
    dl,
  );
}

export function pathsView(store: Store): void {
  const list = byId("path-list");
  const render = (): void => {
    const cards = [...store.paths.values()]
      .filter((p) => p.kind !== PathKind.UNSPECIFIED || store.pathDetail.has(p.peerId))
      .map((p) => card(store, p));
    list.replaceChildren(...cards);
    byId("paths-empty").hidden = cards.length > 0;
  };
  store.on("paths", render);
  store.on("peers", render);
}
