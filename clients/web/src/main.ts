// The page of one agent, served by that agent's bridge: wires the views to the live state.
import { agentClient, describeError, QUICK_MS, type AgentClient } from "./api";
import { agentView } from "./agent_view";
import { benchView } from "./bench";
import { chatView } from "./chat";
import { byId, el, say } from "./dom";
import { eventSummary } from "./events";
import { fileView } from "./file";
import * as fmt from "./format";
import { pathsView } from "./paths_view";
import { peerChoice } from "./peer_choice";
import { peersView } from "./peers_view";
import { Store } from "./store";

/** RTT and counters are not events: refresh them this often while the stream is up. */
const REFRESH_MS = 3_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5_000;
const MAX_EVENTS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The agent's state now: status, then the peers (none when it has no rendezvous). */
async function snapshot(store: Store, client: AgentClient): Promise<void> {
  store.setStatus(await client.getStatus({}, { timeoutMs: QUICK_MS }));
  store.setPeers((await client.listPeers({}, { timeoutMs: QUICK_MS })).peers);
}

/**
 * Keeps the page live: a snapshot, then WatchEvents until it fails; then says so and retries
 * with backoff. The banner always says what is wrong; nothing spins silently.
 */
async function watch(store: Store, client: AgentClient): Promise<never> {
  const link = byId("link");
  const banner = byId("banner");
  let wait = RETRY_MIN_MS;
  let refresh: ReturnType<typeof setInterval> | undefined;
  for (;;) {
    try {
      await snapshot(store, client);
      const stream = client.watchEvents({ includeCurrent: true });
      say(link, "live: updating from the agent's events", "ok");
      banner.hidden = true;
      document.body.dataset.live = "true";
      refresh = setInterval(() => {
        client.getStatus({}, { timeoutMs: QUICK_MS }).then(
          (s) => store.setStatus(s),
          () => undefined,
        );
      }, REFRESH_MS);
      for await (const res of stream) {
        if (res.event) store.apply(res.event);
        wait = RETRY_MIN_MS;
      }
      throw new Error("the agent ended the event stream (is it shutting down?)");
    } catch (e) {
      const text =
        e instanceof Error && !("code" in e)
          ? `Lost the agent: ${e.message}`
          : describeError("The agent's event stream", e);
      say(
        banner,
        `${text.replace(/[.?!]$/, "")}. Retrying in ${(wait / 1000).toFixed(1)} s.`,
        "error",
      );
      banner.hidden = false;
      document.body.dataset.live = "false"; // the state below is the last one seen: dim it
      say(link, "offline: not receiving updates", "error");
    } finally {
      clearInterval(refresh);
    }
    await sleep(wait);
    wait = Math.min(wait * 2, RETRY_MAX_MS);
  }
}

function eventLog(store: Store): void {
  const log = byId<HTMLOListElement>("event-log");
  store.on("event", (ev) => {
    log.prepend(el("li", {}, `${fmt.clock(ev.unixMs)} ${eventSummary(store, ev)}`));
    while (log.children.length > MAX_EVENTS) log.lastElementChild?.remove();
  });
}

function main(): void {
  // Opening the page with ?token=T made the bridge set its cookie; keep T out of the history.
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url);
  }
  const client = agentClient(location.origin);
  const store = new Store();
  agentView(store);
  peersView(store, client);
  pathsView(store);
  const choice = peerChoice(store);
  chatView(store, client, choice);
  benchView(client, choice);
  fileView(store, client, choice);
  eventLog(store);
  void watch(store, client);
}

main();
