/**
 * Throwaway certificates for tests and local clusters, made with the `openssl` command line:
 * a CA, member certificates that name their member id the way @tsraft/node's TLS transport
 * expects (a URI SAN `urn:tsraft:member:<id>`, see packages/node/README.md, "Security"),
 * client certificates (`urn:tsraft:client:<name>`) for services that want them (the KV's
 * HTTPS API), and odd ones for tests. Every call makes a CA of its own, so two calls give two
 * clusters that do not trust each other. EC P-256 keys: fast to generate. Valid for
 * `days` (default 1).
 *
 * The one certificate generator of the repository: @tsraft/node's transport tests, the KV
 * example's HTTPS tests and its LocalCluster (demo, launcher, fault test, soak) all use it.
 * The commands are the ones packages/node/README.md ("Generating certificates") and
 * examples/kv/README.md ("Security") list; keep them in step.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/** A certificate and its key, as PEM bytes and as the files they were written to. */
export interface CertPair {
  cert: Buffer;
  key: Buffer;
  certPath: string;
  keyPath: string;
}

/** What {@link makeCerts} made. */
export interface TestCerts {
  /** The directory holding every file. */
  dir: string;
  /** The CA certificate (PEM) and its path; `ca.key` signs the others. */
  ca: CertPair;
  /** Makes (or returns the already made) certificate of member `id`: serverAuth and clientAuth, `IP:127.0.0.1`, `DNS:localhost`. */
  member(id: bigint): CertPair;
  /** Makes (or returns) a client certificate named `name` (clientAuth only, not a member). */
  client(name: string): CertPair;
  /**
   * Makes a certificate with the given subjectAltName and extendedKeyUsage (for an HTTPS
   * server certificate, and for tests of odd certificates: two member ids, none, a CA-signed
   * server-only certificate).
   */
  custom(name: string, subjectAltName: string, extendedKeyUsage?: string): CertPair;
  /** Removes the directory. */
  remove(): void;
}

/** The options of {@link makeCerts}. */
export interface MakeCertsOptions {
  /** Write into this directory (created if needed) instead of a new temporary one. */
  dir?: string;
  /** Validity in days. Default 1. */
  days?: number;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether the `openssl` command can be run. */
export function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function pair(dir: string, name: string): CertPair {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, keyPath };
}

/**
 * Makes a fresh CA (in a new temporary directory unless `options.dir` is given). Certificates
 * are made on demand.
 * @param label a word in the directory and CA names, to tell runs apart.
 * @throws Error if openssl fails (or is not installed).
 */
export function makeCerts(label = "test", options: MakeCertsOptions = {}): TestCerts {
  let dir: string;
  if (options.dir === undefined) dir = mkdtempSync(join(tmpdir(), `tsraft-certs-${label}-`));
  else {
    dir = options.dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const days = String(options.days ?? 1);
  // 1. The CA: a self-signed certificate allowed to sign others.
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      days,
      "-subj",
      `/CN=tsraft ${label} CA`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  const made = new Map<string, CertPair>();
  const issue = (name: string, subject: string, san: string, eku: string): CertPair => {
    const have = made.get(name);
    if (have !== undefined) return have;
    // 2. A key and a signing request, 3. signed by the CA with the extensions that matter.
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
    writeFileSync(
      join(dir, `${name}.ext`),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyAgreement",
        `extendedKeyUsage=${eku}`,
        ...(san === "" ? [] : [`subjectAltName=${san}`]),
        "",
      ].join("\n"),
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        `0x${randomBytes(8).toString("hex")}`,
        "-days",
        days,
        "-out",
        `${name}.crt`,
        "-extfile",
        `${name}.ext`,
      ],
      dir,
    );
    const p = pair(dir, name);
    made.set(name, p);
    return p;
  };
  return {
    dir,
    ca: pair(dir, "ca"),
    member: (id) => issue(`member-${id}`, `/CN=tsraft member ${id}`, `URI:urn:tsraft:member:${id},IP:127.0.0.1,DNS:localhost`, "serverAuth,clientAuth"),
    client: (name) => issue(`client-${name}`, `/CN=${name}`, `URI:urn:tsraft:client:${name}`, "clientAuth"),
    custom: (name, san, eku = "serverAuth,clientAuth") => issue(`custom-${name}`, `/CN=${name}`, san, eku),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
