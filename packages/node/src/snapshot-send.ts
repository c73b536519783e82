/**
 * Sending one MsgSnap over a connection of its own: the handshake (dial.ts), a SnapHeader
 * (data length, "has data", the message encoded without its data), the data in chunk frames
 * written with backpressure (never copied into one frame), then the receiver's SnapAck.
 * @module
 */
import type { Socket } from "node:net";
import { encodeMessage } from "@tsraft/raftpb";
import type { Message } from "@tsraft/raftpb";
import { dialPeer } from "./dial.js";
import type { DialConfig } from "./dial.js";
import { FrameKind, frame, frameHeader } from "./frames.js";
import type { PeerAddress } from "./peer-address.js";

/** What a snapshot send needs besides the dial configuration. */
export interface SnapshotSendConfig extends DialConfig {
  snapshotChunkBytes: number;
  snapshotTimeoutMs: number;
}

/** The SnapHeader payload of `m`. */
export function snapshotHeader(m: Message): Buffer {
  const data = m.snapshot?.data;
  const header = encodeMessage({ ...m, snapshot: m.snapshot === undefined ? undefined : { ...m.snapshot, data: undefined } });
  const head = Buffer.allocUnsafe(9 + header.length);
  head.writeUInt32BE(Math.floor((data?.length ?? 0) / 2 ** 32), 0);
  head.writeUInt32BE((data?.length ?? 0) >>> 0, 4);
  head[8] = data === undefined ? 0 : 1;
  head.set(header, 9);
  return head;
}

/**
 * Sends `m` (a MsgSnap) to `addr`; calls `done` once, with `true` when the receiver
 * acknowledged it. Returns the socket (destroy it to cancel: `done(false)` follows).
 */
export function sendSnapshot(cfg: SnapshotSendConfig, m: Message, addr: PeerAddress, done: (ok: boolean, why: string) => void): Socket {
  let finished = false;
  const finish = (ok: boolean, why: string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    s.destroy();
    done(ok, why);
  };
  const timer = setTimeout(() => finish(false, `not acknowledged within ${cfg.snapshotTimeoutMs} ms`), cfg.snapshotTimeoutMs);
  const s = dialPeer(cfg, m.to, addr, "snap", {
    ready: () => void writeSnapshot(s, m, cfg.snapshotChunkBytes).catch((err: unknown) => finish(false, (err as Error).message)),
    frame: (kind) => {
      if (kind === FrameKind.SnapAck) finish(true, "");
      else finish(false, `unexpected frame of kind ${kind}`);
    },
    closed: (why) => finish(false, why),
  });
  return s;
}

async function writeSnapshot(s: Socket, m: Message, chunkBytes: number): Promise<void> {
  const waitDrain = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onClose = (): void => reject(new Error("connection closed"));
      s.once("close", onClose);
      s.once("drain", () => {
        s.off("close", onClose);
        resolve();
      });
    });
  const data = m.snapshot?.data;
  let ok = s.write(frame(FrameKind.SnapHeader, snapshotHeader(m)));
  if (data === undefined) return;
  for (let off = 0; off < data.length; off += chunkBytes) {
    if (!ok) await waitDrain();
    if (s.destroyed) throw new Error("connection closed");
    const chunk = data.subarray(off, Math.min(off + chunkBytes, data.length));
    s.write(frameHeader(FrameKind.SnapChunk, chunk.length));
    ok = s.write(chunk);
  }
}
