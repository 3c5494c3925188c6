// What the page knows about its agent, kept current from GetStatus, ListPeers and WatchEvents.
import type {
  Event,
  FileReceived,
  GetStatusResponse,
  MessageReceived,
  PeerPath,
} from "./gen/peerlink/v1/agent_pb";
import type { AgentInfo } from "./gen/peerlink/v1/common_pb";

export type Topic = "status" | "peers" | "paths" | "message" | "file" | "event";

export class Store {
  status: GetStatusResponse | undefined;
  rendezvousDetail = "";
  /** Other agents online at the rendezvous, by ID. */
  readonly peers = new Map<string, AgentInfo>();
  /** Paths to peers, by peer ID (kind NONE once closed, with the reason in pathDetail). */
  readonly paths = new Map<string, PeerPath>();
  readonly pathDetail = new Map<string, string>();
  private readonly listeners = new Map<Topic, ((arg?: unknown) => void)[]>();

  on(topic: "message", fn: (m: MessageReceived) => void): void;
  on(topic: "file", fn: (f: FileReceived) => void): void;
  on(topic: "event", fn: (e: Event) => void): void;
  on(topic: Topic, fn: () => void): void;
  on(topic: Topic, fn: (arg: never) => void): void {
    const list = this.listeners.get(topic) ?? [];
    list.push(fn as (arg?: unknown) => void);
    this.listeners.set(topic, list);
  }

  private emit(topic: Topic, arg?: unknown): void {
    for (const fn of this.listeners.get(topic) ?? []) fn(arg);
  }

  setStatus(s: GetStatusResponse): void {
    this.status = s;
    for (const p of s.peers) this.paths.set(p.peerId, p);
    this.emit("status");
    this.emit("paths");
  }

  setPeers(list: AgentInfo[]): void {
    this.peers.clear();
    for (const p of list) this.peers.set(p.id, p);
    this.emit("peers");
  }

  /** A path as an event or a Connect answer reported it. */
  setPath(p: PeerPath, detail: string): void {
    this.paths.set(p.peerId, p);
    this.pathDetail.set(p.peerId, detail);
    this.emit("paths");
  }

  /** Applies one WatchEvents event to the state and tells the views that care. */
  apply(ev: Event): void {
    const k = ev.kind;
    switch (k.case) {
      case "rendezvous":
        if (this.status) this.status.rendezvousState = k.value.state;
        this.rendezvousDetail = k.value.detail;
        this.emit("status");
        break;
      case "nat":
        if (this.status) {
          this.status.publicEndpoint = k.value.publicEndpoint;
          this.status.natBehavior = k.value.behavior;
        }
        this.emit("status");
        break;
      case "peerList":
        if (k.value.peer) {
          if (k.value.joined) this.peers.set(k.value.peer.id, k.value.peer);
          else this.peers.delete(k.value.peer.id);
        }
        this.emit("peers");
        break;
      case "path":
        if (k.value.path) this.setPath(k.value.path, k.value.detail);
        break;
      case "quic": {
        const p = this.paths.get(k.value.peerId);
        if (p) p.quic = k.value.state;
        this.emit("paths");
        break;
      }
      case "message":
        this.emit("message", k.value);
        break;
      case "file":
        this.emit("file", k.value);
        break;
    }
    this.emit("event", ev);
  }

  /** A peer's display name: from the rendezvous list, else from its path, else its ID. */
  peerName(id: string): string {
    return this.peers.get(id)?.name || this.paths.get(id)?.peerName || id;
  }
}
