// "Peers online": who else is at the rendezvous, with Connect / Disconnect.
import { describeError, QUICK_MS, type AgentClient } from "./api";
import { byId, el, say, setText } from "./dom";
import * as fmt from "./format";
import type { Store } from "./store";

/** How long Connect waits for a path; the call's own deadline is a little longer. */
const CONNECT_WAIT_MS = 20_000;

interface Row {
  li: HTMLLIElement;
  name: HTMLElement;
  nat: HTMLElement;
  button: HTMLButtonElement;
  msg: HTMLElement;
  busy: boolean;
}

export function peersView(store: Store, client: AgentClient): void {
  const list = byId<HTMLUListElement>("peer-list");
  const rows = new Map<string, Row>();

  const act = async (id: string, row: Row): Promise<void> => {
    if (row.busy) return;
    row.busy = true;
    const name = store.peerName(id);
    const connected = fmt.isUp(store.paths.get(id));
    // aria-disabled, not disabled: a disabled button loses keyboard focus.
    row.button.setAttribute("aria-disabled", "true");
    try {
      if (connected) {
        setText(row.button, "Disconnecting…");
        say(row.msg, `Disconnecting from ${name}…`);
        await client.disconnect({ peerId: id }, { timeoutMs: QUICK_MS });
        say(row.msg, `Disconnected from ${name}.`, "ok");
      } else {
        setText(row.button, "Connecting…");
        say(
          row.msg,
          `Connecting to ${name}: waiting up to ${CONNECT_WAIT_MS / 1000} s for a path…`,
        );
        const r = await client.connect(
          { peerId: id, wait: true, timeoutMs: CONNECT_WAIT_MS },
          { timeoutMs: CONNECT_WAIT_MS + 5_000 },
        );
        const p = r.path;
        say(
          row.msg,
          p ? `Connected: ${fmt.pathKind(p.kind)} path in ${fmt.ms(p.connectMs)}.` : "Connected.",
          "ok",
        );
        if (p) store.setPath(p, "connected");
      }
    } catch (e) {
      say(
        row.msg,
        describeError(connected ? `Disconnect from ${name}` : `Connect to ${name}`, e),
        "error",
      );
    } finally {
      row.busy = false;
      row.button.removeAttribute("aria-disabled");
      render();
    }
  };

  const makeRow = (id: string): Row => {
    const row: Row = {
      li: el("li", { "data-peer": id }),
      name: el("strong"),
      nat: el("span", { class: "muted" }),
      button: el("button", { type: "button" }),
      msg: el("p", { class: "msg" }),
      busy: false,
    };
    const idSpan = el("span", { class: "mono", title: id }, fmt.shortId(id));
    row.li.append(
      el("div", { class: "line" }, row.name, " ", idSpan, " ", row.nat, row.button),
      row.msg,
    );
    row.button.addEventListener("click", () => void act(id, row));
    return row;
  };

  const render = (): void => {
    for (const [id, row] of rows) {
      if (!store.peers.has(id)) {
        row.li.remove();
        rows.delete(id);
      }
    }
    for (const [id, info] of store.peers) {
      let row = rows.get(id);
      if (!row) {
        row = makeRow(id);
        rows.set(id, row);
        list.append(row.li);
      }
      setText(row.name, info.name || "(no name)");
      setText(row.nat, fmt.natBehavior(info.natBehavior));
      if (!row.busy) {
        const up = fmt.isUp(store.paths.get(id));
        setText(row.button, up ? "Disconnect" : "Connect");
        row.button.setAttribute(
          "aria-label",
          `${up ? "Disconnect from" : "Connect to"} ${info.name || id}`,
        );
      }
    }
    byId("peers-empty").hidden = store.peers.size > 0;
  };
  store.on("peers", render);
  store.on("paths", render);
}
