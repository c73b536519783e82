/**
 * Test certificates made with `openssl` at test time, in a temporary directory: a CA, a server
 * certificate for 127.0.0.1/localhost signed by it, a client certificate signed by it, and a
 * client certificate signed by another CA (which a server trusting the first must refuse).
 * Keys are EC P-256 (fast to make). Nothing is kept: `cleanup()` removes the directory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Paths of the PEM files, and their contents. */
export interface TestCerts {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** Signed by the CA. */
  client: { cert: Buffer; key: Buffer };
  /** Signed by another CA. */
  rogueClient: { cert: Buffer; key: Buffer };
  ca: Buffer;
  cleanup(): void;
}

/** Whether `openssl` can be run (tests skip with the reason otherwise). */
export function opensslUnavailable(): string | undefined {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "openssl is not installed";
  }
}

function ssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function keyAndCsr(dir: string, name: string, cn: string): void {
  ssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  ssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
}

function ca(dir: string, name: string): void {
  ssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  ssl(dir, ["req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-days", "2", "-out", `${name}.pem`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}

function sign(dir: string, name: string, caName: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  ssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${caName}.pem`, "-CAkey", `${caName}.key`, "-CAcreateserial", "-days", "2", "-out", `${name}.pem`, "-extfile", `${name}.ext`]);
}

/** Makes the certificates (see the module comment). @throws Error if openssl fails. */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "tsraft-kv-certs-"));
  try {
    ca(dir, "ca");
    ca(dir, "rogue-ca");
    keyAndCsr(dir, "server", "127.0.0.1");
    sign(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    keyAndCsr(dir, "client", "kv-client");
    sign(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
    keyAndCsr(dir, "rogue", "kv-rogue");
    sign(dir, "rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    serverCertFile: join(dir, "server.pem"),
    serverKeyFile: join(dir, "server.key"),
    client: { cert: read("client.pem"), key: read("client.key") },
    rogueClient: { cert: read("rogue.pem"), key: read("rogue.key") },
    ca: read("ca.pem"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
