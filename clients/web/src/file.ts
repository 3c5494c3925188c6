// Send a file (a path on the agent's own machine) with a progress bar; list files received.
import { describeError, type AgentClient } from "./api";
import type { FileProgress, FileReceived } from "./gen/peerlink/v1/agent_pb";
import { byId, el, say } from "./dom";
import * as fmt from "./format";
import type { PeerChoice } from "./peer_choice";
import type { Store } from "./store";

/** No deadline on the whole transfer (files can be large); a stall shows as stuck progress. */
const NO_DEADLINE = 0;

export function fileView(store: Store, client: AgentClient, choice: PeerChoice): void {
  const form = byId<HTMLFormElement>("file-form");
  const send = byId<HTMLButtonElement>("file-send");
  const bar = byId<HTMLProgressElement>("file-progress");
  const msg = byId("file-msg");
  const received = byId<HTMLUListElement>("files-in");
  let busy = false;

  const progress = (p: FileProgress): void => {
    const total = Number(p.bytesTotal);
    bar.max = total > 0 ? total : 1;
    bar.value = total > 0 ? Number(p.bytesDone) : 0;
    const pct = total > 0 ? Math.floor((Number(p.bytesDone) * 100) / total) : 0;
    say(msg, `Sending: ${fmt.bytes(p.bytesDone)} of ${fmt.bytes(p.bytesTotal)} (${pct}%)`);
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      const peer = choice.current();
      const path = byId<HTMLInputElement>("file-path").value.trim();
      if (!peer || busy) return;
      if (!path) {
        say(msg, "Enter the path of a file on this agent's machine.", "error");
        return;
      }
      busy = true;
      send.setAttribute("aria-disabled", "true");
      bar.hidden = false;
      bar.value = 0;
      delete msg.dataset.result;
      say(msg, `Starting to send ${path}…`);
      let last: FileProgress | undefined;
      try {
        const stream = client.sendFile(
          {
            peerId: peer,
            path,
            remoteName: byId<HTMLInputElement>("file-name").value.trim(),
            overwrite: byId<HTMLInputElement>("file-overwrite").checked,
          },
          { timeoutMs: NO_DEADLINE },
        );
        for await (const res of stream) {
          if (!res.progress) continue;
          last = res.progress;
          progress(last);
        }
        if (last?.done) {
          msg.dataset.result = "verified";
          say(
            msg,
            `✓ Verified: ${store.peerName(peer)} stored ${fmt.bytes(last.bytesTotal)}, SHA-256 ${last.sha256}`,
            "ok",
          );
        } else {
          say(msg, "The transfer ended before the peer confirmed the file.", "error");
        }
      } catch (err) {
        msg.dataset.result = "failed";
        bar.hidden = last === undefined; // an empty bar next to the error would say nothing
        say(msg, describeError("Send file", err), "error");
      } finally {
        busy = false;
        send.removeAttribute("aria-disabled");
      }
    })();
  });

  store.on("file", (f: FileReceived) => {
    received.querySelector(".muted")?.remove();
    const from = store.peerName(f.peerId);
    const text = f.error
      ? `✗ ${f.name} from ${from} failed: ${f.error}`
      : `✓ ${f.name} from ${from}: ${fmt.bytes(f.size)}, SHA-256 ${f.sha256} verified, stored at ${f.path}`;
    received.append(el("li", { class: f.error ? "failed" : "ok" }, text));
  });
  choice.onChange(() => {
    send.disabled = choice.current() === "";
  });
}
