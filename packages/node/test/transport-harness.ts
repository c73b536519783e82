/**
 * Helpers shared by the transport tests: endpoints that record what they get, a raw client
 * that speaks the wire format by hand (for attacks), and waits that end by themselves.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import type { MessageType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { TcpTransport } from "@tsraft/node";
import type { TcpTransportOptions, TransportAuth } from "@tsraft/node";
import { makeCerts } from "../../../scripts/test-helpers/certs.js";
import type { TestCerts } from "../../../scripts/test-helpers/certs.js";
import { dialPeer } from "../src/dial.js";
import { FrameKind, FrameReader, frame } from "../src/frames.js";
import type { StreamKind } from "../src/handshake.js";
import { parsePeerAddress } from "../src/peer-address.js";
import { resolveAuth } from "../src/transport-auth.js";

export function msg(type: MessageType, from: NodeId, to: NodeId, index = 0): Message {
  return { type, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const resources = new Set<() => unknown>();

/** Registers something for {@link cleanup} to close, so that a failed test does not leave the process hanging. */
export function track<T>(thing: T, close: (t: T) => unknown): T {
  resources.add(() => close(thing));
  return thing;
}

/** Closes everything the helpers opened (run it in `afterEach`). */
export async function cleanup(): Promise<void> {
  const all = [...resources].reverse();
  resources.clear();
  for (const close of all) {
    try {
      await close();
    } catch {
      // already closed
    }
  }
}

export interface Ep {
  t: TcpTransport;
  got: Message[];
  unreachable: NodeId[];
  snaps: string[];
}

export async function endpoint(id: NodeId, opts: Partial<TcpTransportOptions> = {}, port = 0): Promise<Ep> {
  const ep: Ep = { t: undefined as unknown as TcpTransport, got: [], unreachable: [], snaps: [] };
  ep.t = new TcpTransport({
    id,
    port,
    auth: { mode: "none" },
    onMessage: (m) => ep.got.push(m),
    onUnreachable: (p) => ep.unreachable.push(p),
    onSnapshotStatus: (p, s) => ep.snaps.push(`${p}:${s}`),
    backoffInitialMs: 10,
    backoffMaxMs: 50,
    handshakeTimeoutMs: 2000,
    ...opts,
  });
  await ep.t.start();
  track(ep.t, (t) => t.close());
  return ep;
}

/** Connects `a` and `b` both ways. */
export function link(a: Ep, aId: NodeId, b: Ep, bId: NodeId): void {
  a.t.setPeer(bId, b.t.address);
  b.t.setPeer(aId, a.t.address);
}

/** The certificates of one test cluster, made once per test file. */
let shared: TestCerts | undefined;
export function certs(): TestCerts {
  shared ??= makeCerts("node");
  return shared;
}

export function removeCerts(): void {
  shared?.remove();
  shared = undefined;
}

export const SECRET = "a shared secret of the test cluster";

/** The auth options of member `id` in each mode. */
export function authFor(mode: "none" | "hmac" | "tls", id: NodeId): TransportAuth {
  switch (mode) {
    case "none":
      return { mode: "none" };
    case "hmac":
      return { mode: "hmac", secret: SECRET };
    case "tls": {
      const m = certs().member(id);
      return { mode: "tls", cert: m.cert, key: m.key, ca: certs().ca.cert };
    }
  }
}

/** A fresh temporary directory, removed by {@link cleanup}. */
export function tempDir(label = "tsraft-snapdir-"): string {
  return track(mkdtempSync(join(tmpdir(), label)), (d) => rmSync(d, { recursive: true, force: true }));
}

/** A raw TCP client to `addr`, recording what the server sends and whether it closed. */
export interface RawClient {
  s: Socket;
  received: Buffer[];
  frames: { kind: number; payload: Buffer }[];
  closed: boolean;
  /** Writes and swallows EPIPE/ECONNRESET (the server may close first). */
  send(b: Buffer): void;
  end(): void;
}

export async function rawClient(addr: string, localAddress?: string): Promise<RawClient> {
  const i = addr.lastIndexOf(":");
  const s = track(connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), ...(localAddress === undefined ? {} : { localAddress }) }), (x) =>
    x.destroy(),
  );
  const c: RawClient = {
    s,
    received: [],
    frames: [],
    closed: false,
    send: (b) => {
      if (!s.destroyed) s.write(b, () => {});
    },
    end: () => s.destroy(),
  };
  const reader = new FrameReader(1 << 20);
  s.on("data", (d: Buffer) => {
    c.received.push(d);
    try {
      reader.push(d, (kind, payload) => c.frames.push({ kind, payload: Buffer.from(payload) }));
    } catch {
      // not frames: the test looks at `received`
    }
  });
  s.on("error", () => {});
  s.on("close", () => (c.closed = true));
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
  });
  return c;
}

/** The hello of the unauthenticated transport this package shipped before (version 1). */
export function helloV1(from: NodeId, to: NodeId, addr = "127.0.0.1:1", stream: "msg" | "snap" = "msg"): Buffer {
  return frame(FrameKind.Hello, Buffer.from(JSON.stringify({ v: 1, from: from.toString(), to: to.toString(), addr, stream })));
}

/**
 * An authenticated connection to `to` at `addr` as member `self` (the transport's own dialer),
 * for tests that then write frames by hand. Resolves once the handshake completed; rejects if
 * it failed.
 */
export function memberSocket(self: NodeId, to: NodeId, addr: string, kind: StreamKind, auth: TransportAuth, clusterId = "c1"): Promise<MemberSocket> {
  return new Promise((resolve, reject) => {
    const ms: MemberSocket = { s: undefined as unknown as Socket, frames: [], closed: false, why: "" };
    let ready = false;
    ms.s = dialPeer({ self, clusterId, auth: resolveAuth(auth, self), dialTimeoutMs: 2000, handshakeTimeoutMs: 2000 }, to, parsePeerAddress(addr), kind, {
      ready: () => {
        ready = true;
        resolve(ms);
      },
      frame: (k, payload) => ms.frames.push({ kind: k, payload: Buffer.from(payload) }),
      closed: (why) => {
        ms.closed = true;
        ms.why = why;
        if (!ready) reject(new Error(`handshake failed: ${why}`));
      },
    });
    ms.s.on("error", () => {});
    track(ms.s, (x) => x.destroy());
  });
}

export interface MemberSocket {
  s: Socket;
  frames: { kind: number; payload: Buffer }[];
  closed: boolean;
  why: string;
}
