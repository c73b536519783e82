/**
 * HTTPS for the client API: with --client-cert/--client-key the API is served over TLS only;
 * with --client-ca too, a client must present a certificate signed by that CA. Certificates
 * are made with openssl at test time (@tsraft/test-helpers/certs, the repository's one
 * certificate generator).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { kvRequest } from "@tsraft/example-kv";
import { InProcCluster } from "./helpers/inproc.js";
import { makeCerts } from "@tsraft/test-helpers/certs";
import type { CertPair, TestCerts } from "@tsraft/test-helpers/certs";

/** A CA; an HTTPS server certificate for 127.0.0.1 and a client certificate signed by it; a client certificate of another CA. */
interface HttpsCerts {
  authority: TestCerts;
  server: CertPair;
  client: CertPair;
  rogue: TestCerts;
  rogueClient: CertPair;
}

function makeHttpsCerts(): HttpsCerts {
  const authority = makeCerts("kv-https");
  const rogue = makeCerts("kv-rogue");
  return {
    authority,
    server: authority.custom("server", "IP:127.0.0.1,DNS:localhost", "serverAuth"),
    client: authority.client("kv-client"),
    rogue,
    rogueClient: rogue.client("kv-rogue"),
  };
}

function removeHttpsCerts(c: HttpsCerts | undefined): void {
  c?.authority.remove();
  c?.rogue.remove();
}

describe("HTTPS client API with client certificates", { timeout: 60_000 }, () => {
  let certs: HttpsCerts;
  let c: InProcCluster;
  let addr: string;
  before(async () => {
    certs = makeHttpsCerts();
    c = await InProcCluster.create(1, [
      "--client-cert",
      certs.server.certPath,
      "--client-key",
      certs.server.keyPath,
      "--client-ca",
      certs.authority.ca.certPath,
    ]);
    c.tls = { ca: certs.authority.ca.cert, cert: certs.client.cert, key: certs.client.key };
    await c.startAll();
    await c.waitForLeader();
    addr = c.member(1n).addr.http;
  });
  after(async () => {
    await c?.cleanup();
    removeHttpsCerts(certs);
  });

  test("a client with a certificate signed by the CA reads and writes", async () => {
    const w = await c.req(1n, "PUT", "/kv/secret", { value: "s3cr3t" });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal((await c.req(1n, "GET", "/kv/secret")).body["value"], "s3cr3t");
  });

  test("refused: plain HTTP, no client certificate, a certificate from another CA, a server CA the client does not trust", async () => {
    const plain = await kvRequest(addr, "GET", "/kv/secret", undefined, 5000);
    assert.equal(plain.status, 0, "plain HTTP gets no answer");
    const noCert = await kvRequest(addr, "GET", "/kv/secret", undefined, 5000, { ca: certs.authority.ca.cert });
    assert.equal(noCert.status, 0, `no client certificate: ${noCert.error ?? ""}`);
    const rogue = await kvRequest(addr, "PUT", "/kv/secret", { value: "x" }, 5000, {
      ca: certs.authority.ca.cert,
      cert: certs.rogueClient.cert,
      key: certs.rogueClient.key,
    });
    assert.equal(rogue.status, 0, `a certificate of another CA: ${rogue.error ?? ""}`);
    const untrusted = await kvRequest(addr, "GET", "/kv/secret", undefined, 5000, { ca: certs.rogue.ca.cert, cert: certs.client.cert, key: certs.client.key });
    assert.equal(untrusted.status, 0, "the client checks the server's certificate");
    assert.equal((await c.req(1n, "GET", "/kv/secret")).body["value"], "s3cr3t", "nothing was written");
    assert.deepEqual(c.fatalErrors(), []);
  });
});

describe("HTTPS without client certificates", { timeout: 60_000 }, () => {
  let certs: HttpsCerts;
  let c: InProcCluster;
  before(async () => {
    certs = makeHttpsCerts();
    c = await InProcCluster.create(1, ["--client-cert", certs.server.certPath, "--client-key", certs.server.keyPath]);
    c.tls = { ca: certs.authority.ca.cert };
    await c.startAll();
    await c.waitForLeader();
  });
  after(async () => {
    await c?.cleanup();
    removeHttpsCerts(certs);
  });

  test("serves HTTPS to any client that trusts the server's CA; plain HTTP gets nothing", async () => {
    assert.equal((await c.req(1n, "PUT", "/kv/x", { value: "1" })).status, 200);
    assert.equal((await kvRequest(c.member(1n).addr.http, "GET", "/kv/x", undefined, 5000)).status, 0);
  });
});
