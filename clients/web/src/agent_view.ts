// "This agent": identity, rendezvous state and what STUN measured.
import { byId, setText } from "./dom";
import * as fmt from "./format";
import type { Store } from "./store";

export function agentView(store: Store): void {
  const render = (): void => {
    const s = store.status;
    if (!s) return;
    setText(byId("a-id"), s.id);
    setText(byId("a-name"), s.name || "(no name)");
    setText(byId("title-name"), s.name ? `— ${s.name}` : "");
    document.title = `peerlink ${s.name || s.id}`;
    const detail = store.rendezvousDetail ? ` (${store.rendezvousDetail})` : "";
    const rdv = byId("a-rdv");
    setText(rdv, `${fmt.rendezvousState(s.rendezvousState)}${detail}`);
    rdv.dataset.state = fmt.rendezvousState(s.rendezvousState).split(" ")[0];
    setText(byId("a-udp"), s.udpAddress || "unknown");
    setText(byId("a-public"), fmt.endpoint(s.publicEndpoint));
    setText(byId("a-nat"), fmt.natBehavior(s.natBehavior));
    setText(byId("a-version"), s.version);
  };
  store.on("status", render);
}
