// One line per WatchEvents event for the event log.
import type { Event } from "./gen/peerlink/v1/agent_pb";
import * as fmt from "./format";
import type { Store } from "./store";

export function eventSummary(store: Store, ev: Event): string {
  const k = ev.kind;
  switch (k.case) {
    case "rendezvous":
      return `rendezvous ${fmt.rendezvousState(k.value.state)}${k.value.detail ? `: ${k.value.detail}` : ""}`;
    case "peerList": {
      const name = k.value.peer?.name || k.value.peer?.id || "?";
      return `peer ${name} ${k.value.joined ? (k.value.updated ? "updated" : "joined") : "left"}`;
    }
    case "path": {
      const p = k.value.path;
      const who = p ? store.peerName(p.peerId) : "?";
      return `path to ${who}: ${p ? fmt.pathKind(p.kind) : "?"}${k.value.detail ? ` (${k.value.detail})` : ""}`;
    }
    case "message":
      return `message from ${store.peerName(k.value.peerId)} (${fmt.delivery(k.value.delivery)}, ${k.value.data.length} bytes)`;
    case "nat":
      return `NAT: ${fmt.endpoint(k.value.publicEndpoint)}, ${fmt.natBehavior(k.value.behavior)}`;
    case "file":
      return `file ${k.value.name} from ${store.peerName(k.value.peerId)}${k.value.error ? ` failed: ${k.value.error}` : " stored"}`;
    case "quic":
      return `QUIC to ${store.peerName(k.value.peerId)}: ${k.value.state?.established ? "established" : k.value.state?.detail || "down"}`;
    default:
      return "event";
  }
}
