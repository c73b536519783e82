/**
 * The handshake that opens every {@link TcpTransport} connection (inside TLS in `tls` mode):
 *
 * ```
 * dialer                                              acceptor
 *   Hello   {v:2, cluster, from, to, stream, auth, nonce: Nd}  ->
 *                                                     checks v, auth, cluster, to = itself,
 *                                                     from = a configured peer (and, in tls
 *                                                     mode, named by the peer's certificate)
 *           <-  Welcome {v:2, nonce: Na, mac: MACa}
 *   checks MACa (hmac mode)
 *   Proof   {mac: MACd}                              ->  checks MACd (hmac mode only)
 *   ... Msg frames, or SnapHeader + SnapChunks (answered by one SnapAck)
 * ```
 *
 * In `hmac` mode Nd and Na are 32 fresh random bytes (hex) and
 * `MACa = HMAC-SHA256(secret, "tsraft transport v2 acceptor\0" || u32be(len) || hello || Na)`,
 * `MACd` the same with `"... dialer\0"`, where `hello` is the exact bytes of the Hello frame's
 * payload. The dialer learns the acceptor knows the secret (MACa covers its fresh Nd), the
 * acceptor learns the dialer does (MACd covers its fresh Na); the labels keep one side's MAC
 * from being reflected as the other's; a recorded handshake does not verify against a fresh
 * nonce. In `none` and `tls` modes nonce and mac are empty strings and no Proof is sent.
 *
 * Handshake frames are JSON and at most {@link HANDSHAKE_FRAME_BYTES} long. Every parse here is
 * strict (exact keys, types and formats) and throws {@link ConnectionRefusedError}.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { NodeId } from "@tsraft/raftpb";
import type { AuthMode } from "./transport-auth.js";
import { ConnectionRefusedError } from "./transport-errors.js";

/** The protocol version of the hello (1 was the unauthenticated transport). */
export const HANDSHAKE_VERSION = 2;
/** The largest frame accepted before the handshake completes. */
export const HANDSHAKE_FRAME_BYTES = 4096;
/** Bytes of a nonce. */
export const NONCE_BYTES = 32;
/** Bytes of a MAC (SHA-256). */
export const MAC_BYTES = 32;

/** What a connection carries. */
export type StreamKind = "msg" | "snap";

/** The first frame of a connection, as sent (ids in decimal). */
export interface Hello {
  v: number;
  cluster: string;
  from: string;
  to: string;
  stream: StreamKind;
  auth: AuthMode;
  nonce: string;
}

/** A hello, checked. */
export interface ParsedHello {
  cluster: string;
  from: NodeId;
  to: NodeId;
  stream: StreamKind;
  auth: AuthMode;
  /** The dialer's nonce; empty unless `auth` is `hmac`. */
  nonce: Buffer;
  /** The frame payload as received: what the MACs cover. */
  bytes: Buffer;
}

/** The acceptor's answer to a hello it accepts. */
export interface Welcome {
  nonce: Buffer;
  mac: Buffer;
}

const ID_TEXT = /^[1-9][0-9]{0,19}$/;
const MAX_ID = (1n << 64n) - 1n;
const HEX = /^[0-9a-f]*$/;
const CLUSTER_ID = /^[\x21-\x7e]{0,128}$/;

/** Whether `s` is a valid cluster id: 0 to 128 printable ASCII characters, no spaces. */
export function isValidClusterId(s: string): boolean {
  return typeof s === "string" && CLUSTER_ID.test(s);
}

function refuse(why: string): never {
  throw new ConnectionRefusedError("handshake", `transport: bad handshake: ${why}`);
}

function parseJson(payload: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString("utf8"));
  } catch {
    refuse(`${what} is not JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) refuse(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function keysAre(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  const have = Object.keys(o);
  if (have.length !== keys.length || !keys.every((k) => Object.hasOwn(o, k))) refuse(`${what} has keys ${JSON.stringify(have)}`);
}

function parseId(v: unknown, field: string): NodeId {
  if (typeof v !== "string" || !ID_TEXT.test(v)) refuse(`hello.${field} is not a node id`);
  const id = BigInt(v);
  if (id > MAX_ID) refuse(`hello.${field} is out of range`);
  return id;
}

function parseHex(v: unknown, bytes: number, field: string): Buffer {
  if (typeof v !== "string" || v.length !== 2 * bytes || !HEX.test(v)) refuse(`${field} is not ${bytes} bytes of lowercase hex`);
  return Buffer.from(v, "hex");
}

/** Encodes a hello; returns its bytes (what the MACs cover). */
export function encodeHello(h: Omit<ParsedHello, "bytes">): Buffer {
  const wire: Hello = {
    v: HANDSHAKE_VERSION,
    cluster: h.cluster,
    from: h.from.toString(),
    to: h.to.toString(),
    stream: h.stream,
    auth: h.auth,
    nonce: h.nonce.toString("hex"),
  };
  return Buffer.from(JSON.stringify(wire), "utf8");
}

/**
 * Parses a hello frame's payload.
 * @throws {@link ConnectionRefusedError} (`handshake`) unless it is exactly a version-2 hello.
 */
export function parseHello(payload: Buffer): ParsedHello {
  const o = parseJson(payload, "hello");
  if (o.v !== HANDSHAKE_VERSION) refuse(`hello version ${JSON.stringify(o.v)}, want ${HANDSHAKE_VERSION}`);
  keysAre(o, ["v", "cluster", "from", "to", "stream", "auth", "nonce"], "hello");
  if (typeof o.cluster !== "string" || !isValidClusterId(o.cluster)) refuse("hello.cluster is not a cluster id");
  if (o.stream !== "msg" && o.stream !== "snap") refuse("hello.stream is neither msg nor snap");
  if (o.auth !== "none" && o.auth !== "hmac" && o.auth !== "tls") refuse("hello.auth is not a mode");
  const nonce = o.auth === "hmac" ? parseHex(o.nonce, NONCE_BYTES, "hello.nonce") : parseHex(o.nonce, 0, "hello.nonce");
  return { cluster: o.cluster, from: parseId(o.from, "from"), to: parseId(o.to, "to"), stream: o.stream, auth: o.auth, nonce, bytes: payload };
}

/** Encodes a welcome (empty nonce and mac outside hmac mode). */
export function encodeWelcome(w: Welcome): Buffer {
  return Buffer.from(JSON.stringify({ v: HANDSHAKE_VERSION, nonce: w.nonce.toString("hex"), mac: w.mac.toString("hex") }), "utf8");
}

/**
 * Parses a welcome; `hmac` says whether nonce and mac must be present.
 * @throws {@link ConnectionRefusedError} (`handshake`).
 */
export function parseWelcome(payload: Buffer, hmac: boolean): Welcome {
  const o = parseJson(payload, "welcome");
  keysAre(o, ["v", "nonce", "mac"], "welcome");
  if (o.v !== HANDSHAKE_VERSION) refuse(`welcome version ${JSON.stringify(o.v)}`);
  return { nonce: parseHex(o.nonce, hmac ? NONCE_BYTES : 0, "welcome.nonce"), mac: parseHex(o.mac, hmac ? MAC_BYTES : 0, "welcome.mac") };
}

/** Encodes the dialer's proof. */
export function encodeProof(mac: Buffer): Buffer {
  return Buffer.from(JSON.stringify({ mac: mac.toString("hex") }), "utf8");
}

/**
 * Parses a proof.
 * @throws {@link ConnectionRefusedError} (`handshake`).
 */
export function parseProof(payload: Buffer): Buffer {
  const o = parseJson(payload, "proof");
  keysAre(o, ["mac"], "proof");
  return parseHex(o.mac, MAC_BYTES, "proof.mac");
}

/** A fresh nonce. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

const ACCEPTOR_LABEL = Buffer.from("tsraft transport v2 acceptor\0", "ascii");
const DIALER_LABEL = Buffer.from("tsraft transport v2 dialer\0", "ascii");

function mac(secret: Buffer, label: Buffer, hello: Buffer, acceptorNonce: Buffer): Buffer {
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(hello.length, 0);
  return createHmac("sha256", secret).update(label).update(len).update(hello).update(acceptorNonce).digest();
}

/** The acceptor's MAC over the hello (which holds the dialer's nonce) and its own nonce. */
export function acceptorMac(secret: Buffer, hello: Buffer, acceptorNonce: Buffer): Buffer {
  return mac(secret, ACCEPTOR_LABEL, hello, acceptorNonce);
}

/** The dialer's MAC over the same transcript, under its own label. */
export function dialerMac(secret: Buffer, hello: Buffer, acceptorNonce: Buffer): Buffer {
  return mac(secret, DIALER_LABEL, hello, acceptorNonce);
}

/** Constant-time comparison of two MACs. */
export function macEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
