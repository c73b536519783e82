/**
 * The private copy that `decodeX(bytes, { copy: true })` decodes from: between 65 bytes and
 * 16 KiB it is a view into a shared 128 KiB slab (never overlapping another copy), as the
 * encoder's outputs are (encode.ts, `allocOutput`) and as Node's `Buffer.allocUnsafe` hands out
 * small buffers; otherwise its own ArrayBuffer (V8 keeps typed arrays up to 64 bytes on its
 * heap, where they are cheap). Why: a fresh `new Uint8Array(9056)` is zero-filled and gets its
 * own off-heap backing store, about 1.2 us per copy against 0.7 us for a slab view (a
 * micro-benchmark of codec-msgapp's 9 KB MsgApp; `pnpm bench codec-msgapp`: raftpb README). Its
 * own slab, not the encoder's: a copy of an encoder's output then never shares its input's
 * ArrayBuffer, so `.buffer !== input.buffer` still tells a copy from a view. The cost for callers: the
 * decoded bytes fields' `.buffer` is the larger slab, and a field kept alive keeps its slab
 * alive (at most 128 KiB, holding only copies of decoded inputs).
 * @module
 */

/** Inputs up to this size are copied into the shared slab. */
const POOL_MAX = 16 * 1024;
/** Slab size: 8 x POOL_MAX, so at most 1/8 of a slab is left unused at its end. */
const SLAB_SIZE = 128 * 1024;
/** V8 keeps typed arrays up to 64 bytes on the JS heap: no need to pool them. */
const ON_HEAP_MAX = 64;

let slab = new ArrayBuffer(SLAB_SIZE);
/** Invariant: no copy handed out overlaps the slab at or after slabOffset. */
let slabOffset = 0;

/** A copy of `buf` that shares no memory with it (see the module comment for where it lives). */
export function privateCopy(buf: Uint8Array): Uint8Array {
  const n = buf.length;
  let out: Uint8Array;
  if (n <= ON_HEAP_MAX || n > POOL_MAX) out = new Uint8Array(n);
  else {
    if (slabOffset + n > SLAB_SIZE) {
      slab = new ArrayBuffer(SLAB_SIZE);
      slabOffset = 0;
    }
    out = new Uint8Array(slab, slabOffset, n);
    slabOffset = (slabOffset + n + 7) & ~7; // keep copies 8-byte aligned
  }
  out.set(buf);
  return out;
}
