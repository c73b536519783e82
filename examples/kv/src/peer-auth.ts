/**
 * How members authenticate each other on the raft port, from the flags: mutual TLS
 * (`--peer-cert`, `--peer-key`, `--peer-ca`), a shared secret (`--peer-secret-file`, HMAC), or
 * nothing (`--insecure-peers`, explicitly). Loaded and checked at start, before the data
 * directory is touched, so that a bad configuration is a clear message and exit code 2
 * rather than a member that runs and is refused by every peer.
 * @module
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { MIN_SECRET_BYTES, memberUri } from "@tsraft/node";
import type { TransportAuth } from "@tsraft/node";
import { ConfigError } from "./errors.js";

/** The raft port's authentication as configured (file paths, not yet read). */
export type PeerAuthConfig = { mode: "tls"; certFile: string; keyFile: string; caFile: string } | { mode: "hmac"; secretFile: string } | { mode: "none" };

async function readFlagFile(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The PEM certificates in `pem`, in order. @throws {@link ConfigError} naming `flag`. */
function certificates(flag: string, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString("latin1").match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(`--${flag}: ${file} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new ConfigError(`--${flag}: ${file}: not a valid certificate: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

/** The member ids a certificate's subjectAltName names (`URI:urn:tsraft:member:<id>`). */
function namedMembers(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(", ")
    .filter((e) => e.startsWith("URI:urn:tsraft:member:"))
    .map((e) => e.slice("URI:urn:tsraft:member:".length));
}

/** Whether `leaf` chains up to one of `cas`, through the intermediates of its own file. */
function signedBy(leaf: X509Certificate, intermediates: X509Certificate[], cas: X509Certificate[]): boolean {
  let cur = leaf;
  for (let depth = 0; depth < 8; depth++) {
    if (cas.some((ca) => cur.checkIssued(ca) && cur.verify(ca.publicKey))) return true;
    const up = intermediates.find((c) => c !== cur && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (up === undefined) return false;
    cur = up;
  }
  return false;
}

async function loadTls(id: bigint, c: { certFile: string; keyFile: string; caFile: string }): Promise<TransportAuth> {
  const [certPem, keyPem, caPem] = await Promise.all([
    readFlagFile("peer-cert", c.certFile),
    readFlagFile("peer-key", c.keyFile),
    readFlagFile("peer-ca", c.caFile),
  ]);
  const [leaf, ...chain] = certificates("peer-cert", c.certFile, certPem);
  const cas = certificates("peer-ca", c.caFile, caPem);
  const names = namedMembers(leaf!);
  if (!names.includes(id.toString())) {
    throw new ConfigError(
      `--peer-cert: ${c.certFile} does not name this member (--id ${id}): want the URI subjectAltName ${memberUri(id)}; ` +
        (names.length === 0 ? "it names no member" : `it names member ${names.join(", ")}`),
    );
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new ConfigError(`--peer-key: ${c.keyFile}: not an unencrypted PEM private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!leaf!.checkPrivateKey(key)) throw new ConfigError(`--peer-key: ${c.keyFile} is not the key of --peer-cert ${c.certFile}`);
  if (!signedBy(leaf!, chain, cas)) {
    throw new ConfigError(`--peer-cert: ${c.certFile} is not signed by --peer-ca ${c.caFile} (issuer: ${leaf!.issuer.replace(/\n/g, ", ")})`);
  }
  const now = Date.now();
  if (Date.parse(leaf!.validTo) < now || Date.parse(leaf!.validFrom) > now) {
    throw new ConfigError(`--peer-cert: ${c.certFile} is not valid now (valid from ${leaf!.validFrom} to ${leaf!.validTo})`);
  }
  return { mode: "tls", cert: certPem, key: keyPem, ca: caPem };
}

/**
 * The secret in a file: its bytes, without trailing line breaks (so that `openssl rand -hex
 * 32 > secret` and an editor's final newline give the same secret everywhere).
 */
async function loadSecret(file: string): Promise<TransportAuth> {
  const raw = await readFlagFile("peer-secret-file", file);
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d)) end--;
  if (end < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `--peer-secret-file: ${file} holds ${end} bytes; the secret must have at least ${MIN_SECRET_BYTES} (e.g. openssl rand -hex 32 > ${file})`,
    );
  }
  return { mode: "hmac", secret: raw.subarray(0, end) };
}

/**
 * Reads and checks the raft port's credentials of member `id`: the files are readable; in
 * TLS mode the certificate names this member (`urn:tsraft:member:<id>`), the key is its key,
 * it is signed by the CA (directly or through intermediates in the certificate file) and
 * valid now; in HMAC mode the secret has at least 16 bytes.
 * @returns the transport's `auth` option.
 * @throws {@link ConfigError} naming the flag and the file.
 */
export async function loadPeerAuth(id: bigint, c: PeerAuthConfig): Promise<TransportAuth> {
  switch (c.mode) {
    case "tls":
      return loadTls(id, c);
    case "hmac":
      return loadSecret(c.secretFile);
    case "none":
      return { mode: "none" };
  }
}

/** The warning printed at start with `--insecure-peers`. */
export function insecurePeersWarning(raftAddr: string): string {
  return (
    `WARNING: --insecure-peers: the raft port ${raftAddr} is plain TCP without authentication. Anyone who can reach it ` +
    "can act as any member: inject writes, crash members, take the data. Use it only where every host that can reach " +
    "that port is trusted; otherwise give --peer-cert/--peer-key/--peer-ca or --peer-secret-file."
  );
}
