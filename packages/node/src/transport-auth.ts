/**
 * How {@link TcpTransport} peers prove who they are: the `auth` option, checked and loaded at
 * construction, and how a certificate names a member.
 *
 * - `tls`: mutual TLS 1.3. Every member has a certificate, signed by the cluster's CA, whose
 *   subjectAltName holds the URI `urn:tsraft:member:<id>` (decimal id). The acceptor refuses
 *   a peer whose certificate does not name the id its hello claims; the dialer refuses a
 *   server whose certificate does not name the id it dials. Host names are not checked (the
 *   member id is what matters to raft); a certificate may name several ids (don't).
 * - `hmac`: plain TCP, and a secret shared by the cluster. Both sides prove they know it with
 *   an HMAC-SHA256 over fresh nonces from both sides and the hello (see handshake.ts). The
 *   connection is authenticated, not each frame: the bytes after the handshake are neither
 *   encrypted nor protected against someone on the network path (use `tls` for that).
 * - `none`: no authentication. For tests and networks where every host that can reach the
 *   port is trusted.
 * @module
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { SecureContext } from "node:tls";
import type { NodeId } from "@tsraft/raftpb";
import { TransportConfigError } from "./transport-errors.js";

/** PEM text as bytes, or the path of a file holding it (read once, at construction). */
export type PemInput = Uint8Array | string;

/** Mutual TLS: see the module comment. */
export interface TlsAuth {
  mode: "tls";
  /** This member's certificate chain (PEM); it must name this member's id. */
  cert: PemInput;
  /** Its private key (PEM, unencrypted). */
  key: PemInput;
  /** The CA certificate(s) that sign the members' certificates (PEM). Only these are trusted. */
  ca: PemInput;
}

/** A shared secret and a challenge-response handshake: see the module comment. */
export interface HmacAuth {
  mode: "hmac";
  /** The cluster's secret, at least 16 bytes (a string is taken as UTF-8). Never sent. */
  secret: Uint8Array | string;
}

/** No authentication: anyone who reaches the port can act as any configured peer. */
export interface NoAuth {
  mode: "none";
}

/** The `auth` option of {@link TcpTransportOptions}. */
export type TransportAuth = TlsAuth | HmacAuth | NoAuth;

/** The name of an authentication mode, as carried in the hello. */
export type AuthMode = TransportAuth["mode"];

/** {@link TransportAuth} checked and loaded. */
export type ResolvedAuth =
  | { mode: "none" }
  | { mode: "hmac"; secret: Buffer }
  | { mode: "tls"; cert: Buffer; key: Buffer; ca: Buffer; clientContext: SecureContext };

/** The least secret length accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

/** The URI SAN prefix naming a member: `urn:tsraft:member:<decimal id>`. */
export const MEMBER_URI_PREFIX = "urn:tsraft:member:";

/** The URI that names member `id` in a certificate's subjectAltName. */
export function memberUri(id: NodeId): string {
  return `${MEMBER_URI_PREFIX}${id}`;
}

const MAX_ID = (1n << 64n) - 1n;

/**
 * The member ids a subjectAltName names, in the form Node prints it
 * (`URI:urn:tsraft:member:1, IP Address:127.0.0.1`). Other entries are ignored.
 */
export function memberIdsInSubjectAltName(san: string | undefined): NodeId[] {
  if (san === undefined) return [];
  const ids: NodeId[] = [];
  for (const entry of san.split(", ")) {
    if (!entry.startsWith(`URI:${MEMBER_URI_PREFIX}`)) continue;
    const text = entry.slice(4 + MEMBER_URI_PREFIX.length);
    if (!/^[1-9][0-9]{0,19}$/.test(text)) continue;
    const id = BigInt(text);
    if (id <= MAX_ID) ids.push(id);
  }
  return ids;
}

/** Whether `cert` names member `id`. */
export function certificateNames(cert: X509Certificate | undefined, id: NodeId): boolean {
  return cert !== undefined && memberIdsInSubjectAltName(cert.subjectAltName).includes(id);
}

function readPem(option: string, input: PemInput): Buffer {
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.length);
  if (typeof input !== "string" || input === "") throw new TransportConfigError(option, "want PEM bytes or a file path");
  if (input.startsWith("-----BEGIN")) throw new TransportConfigError(option, "a string is a file path; pass PEM text as bytes (Buffer.from(pem))");
  try {
    return readFileSync(input);
  } catch (err) {
    throw new TransportConfigError(option, `cannot read ${input}: ${(err as Error).message}`, { cause: err });
  }
}

function resolveTls(auth: TlsAuth, id: NodeId): ResolvedAuth {
  const cert = readPem("auth.cert", auth.cert);
  const key = readPem("auth.key", auth.key);
  const ca = readPem("auth.ca", auth.ca);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TransportConfigError("auth.cert", `not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  if (!certificateNames(leaf, id)) {
    throw new TransportConfigError(
      "auth.cert",
      `the certificate does not name this member (want the URI SAN ${memberUri(id)}; it has ${leaf.subjectAltName ?? "no subjectAltName"})`,
    );
  }
  let clientContext: SecureContext;
  try {
    // Also checks that the key matches the certificate.
    clientContext = createSecureContext({ cert, key, ca, minVersion: "TLSv1.3" });
  } catch (err) {
    throw new TransportConfigError("auth", `unusable certificate, key or CA: ${(err as Error).message}`, { cause: err });
  }
  return { mode: "tls", cert, key, ca, clientContext };
}

/**
 * Checks and loads the `auth` option of node `id`.
 * @throws {@link TransportConfigError} for an unknown mode, a short secret, unreadable or
 *   unusable PEM, or a certificate that does not name `id`.
 */
export function resolveAuth(auth: TransportAuth, id: NodeId): ResolvedAuth {
  switch (auth?.mode) {
    case "none":
      return { mode: "none" };
    case "hmac": {
      const s = auth.secret;
      const secret = typeof s === "string" ? Buffer.from(s, "utf8") : s instanceof Uint8Array ? Buffer.from(s) : undefined;
      if (secret === undefined) throw new TransportConfigError("auth.secret", "want bytes or a string");
      if (secret.length < MIN_SECRET_BYTES) throw new TransportConfigError("auth.secret", `${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
      return { mode: "hmac", secret };
    }
    case "tls":
      return resolveTls(auth, id);
    default:
      throw new TransportConfigError(
        "auth.mode",
        `unknown mode ${JSON.stringify((auth as { mode?: unknown } | undefined)?.mode)} (want "tls", "hmac" or "none")`,
      );
  }
}
