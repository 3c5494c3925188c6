// How values from the API read on the page.
import { Delivery, PathKind, RendezvousState, type PeerPath } from "./gen/peerlink/v1/agent_pb";
import { NatBehavior, type Endpoint } from "./gen/peerlink/v1/common_pb";

export function endpoint(e: Endpoint | undefined): string {
  if (!e || !e.ip) return "unknown";
  return e.ip.includes(":") ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

const RDV: Record<RendezvousState, string> = {
  [RendezvousState.UNSPECIFIED]: "unknown",
  [RendezvousState.DISABLED]: "disabled (no rendezvous configured)",
  [RendezvousState.CONNECTING]: "connecting",
  [RendezvousState.REGISTERED]: "registered",
  [RendezvousState.DISCONNECTED]: "disconnected, retrying",
};
export const rendezvousState = (s: RendezvousState): string => RDV[s] ?? `state ${s}`;

const NAT: Record<NatBehavior, string> = {
  [NatBehavior.UNSPECIFIED]: "not measured yet",
  [NatBehavior.UNKNOWN]: "unknown",
  [NatBehavior.OPEN]: "open (no NAT)",
  [NatBehavior.ENDPOINT_INDEPENDENT]: "endpoint-independent mapping",
  [NatBehavior.ENDPOINT_DEPENDENT]: "endpoint-dependent (symmetric)",
  [NatBehavior.UDP_BLOCKED]: "UDP blocked",
};
export const natBehavior = (b: NatBehavior): string => NAT[b] ?? `behaviour ${b}`;

const PATH: Record<PathKind, string> = {
  [PathKind.UNSPECIFIED]: "none",
  [PathKind.NONE]: "none",
  [PathKind.DIRECT]: "direct",
  [PathKind.RELAY]: "relay",
};
export const pathKind = (k: PathKind): string => PATH[k] ?? `kind ${k}`;

/** A path that carries data now. */
export const isUp = (p: PeerPath | undefined): boolean =>
  p !== undefined && (p.kind === PathKind.DIRECT || p.kind === PathKind.RELAY);

export const DELIVERIES: { value: Delivery; label: string }[] = [
  { value: Delivery.DATAGRAM, label: "datagram" },
  { value: Delivery.RELIABLE, label: "reliable" },
  { value: Delivery.QUIC_STREAM, label: "QUIC stream" },
  { value: Delivery.TCP, label: "TCP" },
];
export const delivery = (d: Delivery): string =>
  DELIVERIES.find((x) => x.value === d)?.label ??
  (d === Delivery.UNSPECIFIED ? "datagram" : `delivery ${d}`);

export function bits(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}

export function bytes(n: bigint | number): string {
  const v = Number(n);
  if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(2)} GiB`;
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)} MiB`;
  if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)} KiB`;
  return `${v} B`;
}

export const ms = (v: bigint | number): string => `${Number(v)} ms`;

export function rtt(us: bigint): string {
  return us === 0n ? "unknown" : `${(Number(us) / 1000).toFixed(2)} ms`;
}

/** First characters of an agent ID: enough to tell agents apart on a narrow screen. */
export const shortId = (id: string): string => (id.length > 12 ? `${id.slice(0, 12)}…` : id);

export const clock = (unixMs: bigint | number): string =>
  new Date(Number(unixMs) || Date.now()).toLocaleTimeString();
