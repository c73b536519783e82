/**
 * The dialer's side of a connection: TCP (or TLS) connect, then the handshake of handshake.ts.
 * The caller writes its stream's frames only once `ready` was called.
 * @module
 */
import { connect as netConnect } from "node:net";
import type { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { NodeId } from "@tsraft/raftpb";
import { FrameKind, FrameReader, frame } from "./frames.js";
import { HANDSHAKE_FRAME_BYTES, acceptorMac, dialerMac, encodeHello, encodeProof, macEquals, newNonce, parseWelcome } from "./handshake.js";
import type { StreamKind } from "./handshake.js";
import type { PeerAddress } from "./peer-address.js";
import { memberIdsInSubjectAltName, memberUri } from "./transport-auth.js";
import type { ResolvedAuth } from "./transport-auth.js";

/** What a dial needs to know about this node. */
export interface DialConfig {
  self: NodeId;
  clusterId: string;
  auth: ResolvedAuth;
  dialTimeoutMs: number;
  handshakeTimeoutMs: number;
}

/** How far a connection got. */
export type DialStage = "connect" | "handshake" | "open";

/** The dialer's callbacks. */
export interface DialEvents {
  /** The handshake completed: write the stream's frames now. */
  ready(): void;
  /** A frame from the acceptor after the handshake (a SnapAck). */
  frame(kind: number, payload: Buffer): void;
  /** The connection is gone; called once. `stage` is how far it got. */
  closed(why: string, stage: DialStage): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Connects to peer `to` at `addr` for a stream of `kind`; see the module comment. Returns the
 * socket (to write to once ready, and to destroy).
 */
export function dialPeer(cfg: DialConfig, to: NodeId, addr: PeerAddress, kind: StreamKind, events: DialEvents): Socket {
  const auth = cfg.auth;
  const nonce = auth.mode === "hmac" ? newNonce() : EMPTY;
  const hello = encodeHello({ cluster: cfg.clusterId, from: cfg.self, to, stream: kind, auth: auth.mode, nonce });
  const s: Socket =
    auth.mode === "tls"
      ? tlsConnect({
          host: addr.host,
          port: addr.port,
          secureContext: auth.clientContext,
          // The chain is verified against the CA first; then the server must be the member we dial.
          checkServerIdentity: (_host, cert) =>
            memberIdsInSubjectAltName(cert.subjectaltname).includes(to)
              ? undefined
              : new Error(`the server's certificate does not name ${memberUri(to)} (it has ${cert.subjectaltname ?? "no subjectAltName"})`),
        })
      : netConnect({ host: addr.host, port: addr.port });
  s.setNoDelay(true);
  let stage: DialStage = "connect";
  let done = false;
  const reader = new FrameReader(HANDSHAKE_FRAME_BYTES);
  const close = (why: string): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    reader.stop();
    s.destroy();
    events.closed(why, stage);
  };
  let timer = setTimeout(() => close(`no connection within ${cfg.dialTimeoutMs} ms`), cfg.dialTimeoutMs);
  s.once("connect", () => {
    stage = "handshake";
    clearTimeout(timer);
    timer = setTimeout(() => close(`no handshake within ${cfg.handshakeTimeoutMs} ms`), cfg.handshakeTimeoutMs);
    if (auth.mode !== "tls") s.write(frame(FrameKind.Hello, hello));
  });
  if (auth.mode === "tls") s.once("secureConnect", () => s.write(frame(FrameKind.Hello, hello)));
  const onFrame = (k: number, payload: Buffer): void => {
    if (stage === "open") return events.frame(k, payload);
    if (k !== FrameKind.Welcome) return close(`the peer answered the hello with a frame of kind ${k}`);
    const w = parseWelcome(payload, auth.mode === "hmac");
    if (auth.mode === "hmac") {
      if (!macEquals(w.mac, acceptorMac(auth.secret, hello, w.nonce))) return close("the peer did not prove it knows the cluster secret");
      s.write(frame(FrameKind.Proof, encodeProof(dialerMac(auth.secret, hello, w.nonce))));
    }
    stage = "open";
    clearTimeout(timer);
    events.ready();
  };
  s.on("data", (chunk: Buffer) => {
    try {
      reader.push(chunk, onFrame);
    } catch (err) {
      close((err as Error).message);
    }
  });
  s.on("error", (err) => close(err.message));
  s.once("close", () => close(stage === "handshake" ? "the peer closed the connection during the handshake (refused)" : "connection closed"));
  return s;
}
