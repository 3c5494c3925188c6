// The agent's API as the page reaches it: gRPC-Web through the bridge that served the page.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Agent } from "./gen/peerlink/v1/agent_pb";

export type AgentClient = Client<typeof Agent>;

/** Deadline for calls that should answer at once (status, peers, send). */
export const QUICK_MS = 10_000;

export function agentClient(baseUrl: string): AgentClient {
  return createClient(Agent, createGrpcWebTransport({ baseUrl }));
}

// What each status means for the person looking at the page.
const HINTS: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "unreachable",
  [Code.DeadlineExceeded]: "deadline exceeded: no answer in time",
  [Code.Unimplemented]: "not supported by this agent yet",
  [Code.FailedPrecondition]: "not possible now",
  [Code.NotFound]: "not found",
  [Code.InvalidArgument]: "invalid input",
  [Code.AlreadyExists]: "already exists",
  [Code.PermissionDenied]: "refused",
  [Code.Unauthenticated]: "refused: not authenticated",
  [Code.ResourceExhausted]: "too large or too busy",
  [Code.Aborted]: "aborted",
  [Code.Canceled]: "cancelled",
  [Code.Internal]: "internal error",
};

/** The gRPC status name as scripts know it (UNIMPLEMENTED, DEADLINE_EXCEEDED...). */
export function codeName(err: unknown): string {
  const c = ConnectError.from(err).code;
  return Code[c].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * A sentence for a failed call: what failed, what kind of failure, and the server's own words.
 * A fetch that never reached the bridge becomes "bridge unreachable", not "unknown".
 */
export function describeError(what: string, err: unknown): string {
  const e = ConnectError.from(err);
  if (e.code === Code.Unknown && e.cause instanceof TypeError) {
    return `${what} failed: the bridge at ${location.host} is unreachable (${e.rawMessage}); is it running?`;
  }
  const hint = HINTS[e.code] ?? codeName(e).toLowerCase();
  const msg = e.rawMessage ? ` — ${e.rawMessage}` : "";
  return `${what} failed (${codeName(e)}: ${hint})${msg}`;
}

/** True for the answers of methods an agent does not have yet (or cannot do on this path). */
export function notBuilt(err: unknown): boolean {
  const c = ConnectError.from(err).code;
  return c === Code.Unimplemented || c === Code.FailedPrecondition;
}
