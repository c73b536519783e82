/**
 * The errors of {@link TcpTransport}. Each is a {@link RaftError} with a stable `code`.
 *
 * What a caller handles: {@link TransportConfigError} (bad options, unreadable certificate
 * files: thrown by the constructor), {@link TransportAddressError} and
 * {@link TransportPeerError} (thrown by `setPeer`), {@link TransportListenError} (`start`
 * rejects with it). {@link ConnectionRefusedError} is what the transport throws inside itself
 * when it closes a connection it will not serve; it never reaches the caller, but is logged
 * and counted in `stats()` under its `reason`.
 * @module
 */
import { RaftError } from "@tsraft/raft";
import type { RaftErrorOptions } from "@tsraft/raft";
import type { NodeId } from "@tsraft/raftpb";

/** The base class of the transport's errors; `code` starts with `TSRAFT_TRANSPORT_`. */
export class TransportError extends RaftError {}

/**
 * A peer address that is not `host:port` with a non-empty host and a port in 1..65535
 * (`code` `TSRAFT_TRANSPORT_ADDRESS`). Validate addresses before they are proposed in a conf
 * change: `setPeer` runs when the change is applied, on every member.
 */
export class TransportAddressError extends TransportError {
  /** The address as given. */
  readonly address: string;
  constructor(address: string, why: string) {
    super("TSRAFT_TRANSPORT_ADDRESS", `transport: invalid peer address ${JSON.stringify(address)}: ${why} (want host:port, port 1..65535)`);
    this.address = address;
  }
}

/** A peer id that cannot be a peer: 0, or this node's own id (`TSRAFT_TRANSPORT_PEER`). */
export class TransportPeerError extends TransportError {
  /** The id as given. */
  readonly peer: NodeId;
  constructor(peer: NodeId, why: string) {
    super("TSRAFT_TRANSPORT_PEER", `transport: ${peer} cannot be a peer: ${why}`);
    this.peer = peer;
  }
}

/** An invalid option, or certificate/key files that cannot be read or used (`TSRAFT_TRANSPORT_CONFIG`). */
export class TransportConfigError extends TransportError {
  /** The option at fault, e.g. `'auth.cert'`, `'maxFrameBytes'`. */
  readonly option: string;
  constructor(option: string, why: string, options?: RaftErrorOptions) {
    super("TSRAFT_TRANSPORT_CONFIG", `transport: option ${option}: ${why}`, options);
    this.option = option;
  }
}

/** Listening failed, e.g. the port is in use (`TSRAFT_TRANSPORT_LISTEN`); `cause` holds Node's error. */
export class TransportListenError extends TransportError {
  /** The address it tried to listen on. */
  readonly address: string;
  constructor(address: string, cause: unknown) {
    super("TSRAFT_TRANSPORT_LISTEN", `transport: cannot listen on ${address}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.address = address;
  }
}

/**
 * Why an inbound connection was closed; each reason is a counter of `TransportStats`:
 * - `handshake`: a malformed or failed handshake (bad hello, wrong proof, a certificate that
 *   does not name the claimed id, wrong auth mode, handshake timeout, a hello for another node);
 * - `unknown-peer`: the hello names an id that is not a configured peer;
 * - `wrong-cluster`: the hello names another cluster id;
 * - `limit`: a connection cap or a frame limit was hit;
 * - `snapshot`: a snapshot stream was refused (a second one from the same peer, too large,
 *   malformed, too slow, or it could not be written to disk);
 * - `protocol`: an authenticated peer sent something invalid (an undecodable message, one not
 *   from it or not to this node, a local message type, an unknown frame kind).
 */
export type RefusalReason = "handshake" | "unknown-peer" | "wrong-cluster" | "limit" | "snapshot" | "protocol";

/**
 * Thrown inside the transport to close a connection it will not serve (`TSRAFT_TRANSPORT_REFUSED`).
 * Never surfaces to the caller: it is logged and counted by `reason`.
 */
export class ConnectionRefusedError extends TransportError {
  /** The counter this refusal goes to. */
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string, options?: RaftErrorOptions) {
    super("TSRAFT_TRANSPORT_REFUSED", message, options);
    this.reason = reason;
  }
}
