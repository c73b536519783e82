/**
 * The write path's WebAssembly CRC-32C (`crc32c.wat`, slicing-by-16): the CRC of small records,
 * computed where the encoder writes them. Each {@link WasmCrcBuffer} owns one WebAssembly memory
 * that holds the CRC tables and, after them, a growable byte buffer; a call checks a range of
 * that buffer with no copy and no view (README "CRC-32C": about 35 ns for a 112-byte record
 * against 60 for the JavaScript slicing-by-8 and 110-180 for a native call).
 *
 * Unavailable (every {@link createWasmCrcBuffer} returns undefined) where WebAssembly is not
 * (`node --jitless`), or with `TSRAFT_CRC32C=js` in the environment, which keeps every CRC in
 * JavaScript.
 * @module
 */
import { CRC32C_WASM_BASE64 } from "./crc32c-wasm-bytes.js";

/** Bytes at the start of each memory that hold the tables; the buffer starts after them. */
export const WASM_TABLE_BYTES = 16384;

const PAGE = 65536;

// The part of the WebAssembly JavaScript API used here (the compiler's lib for Node has no
// WebAssembly namespace without the DOM's).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (mod: WasmModule) => { readonly exports: unknown };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

interface CrcExports {
  memory: WasmMemory;
  init: () => void;
  crc: (crc: number, start: number, end: number) => number;
}

function compile(): WasmModule | undefined {
  if (typeof process !== "undefined" && process.env["TSRAFT_CRC32C"] === "js") return undefined;
  if (wasmApi === undefined) return undefined;
  try {
    const mod = new wasmApi.Module(Buffer.from(CRC32C_WASM_BASE64, "base64"));
    // Trust it only if it agrees with the definition (the check value, and chained).
    const probe = instantiate(mod);
    const b = new Uint8Array(probe.memory.buffer, WASM_TABLE_BYTES, 9);
    b.set([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
    const whole = probe.crc(0, WASM_TABLE_BYTES, WASM_TABLE_BYTES + 9) >>> 0;
    const chained = probe.crc(probe.crc(0, WASM_TABLE_BYTES, WASM_TABLE_BYTES + 4), WASM_TABLE_BYTES + 4, WASM_TABLE_BYTES + 9) >>> 0;
    return whole === 0xe3069283 && chained === 0xe3069283 ? mod : undefined;
  } catch {
    return undefined;
  }
}

function instantiate(mod: WasmModule): CrcExports {
  const ex = new wasmApi!.Instance(mod).exports as unknown as CrcExports;
  ex.init();
  return ex;
}

const compiled: WasmModule | undefined = compile();

/** Whether the write path checks small records in WebAssembly (see the module comment). */
export const wasmCrcAvailable: boolean = compiled !== undefined;

/**
 * A growable byte buffer in a WebAssembly memory, with the CRC over its ranges. {@link bytes}
 * and {@link words} are views from the buffer's byte 0; {@link grow} keeps the contents and
 * replaces both views (the old ones are detached: hold neither across a grow).
 */
export class WasmCrcBuffer {
  /** The buffer's bytes. */
  bytes: Uint8Array;
  /** The same bytes as 32-bit words in the platform's byte order (`words[k]` is `bytes[4k, 4k + 4)`). */
  words: Int32Array;
  private readonly memory: WasmMemory;
  private readonly crcFn: (crc: number, start: number, end: number) => number;

  /** @internal use {@link createWasmCrcBuffer}. */
  constructor(ex: CrcExports, minBytes: number) {
    this.memory = ex.memory;
    this.crcFn = ex.crc;
    const need = Math.ceil((WASM_TABLE_BYTES + minBytes) / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > have) this.memory.grow(need - have);
    this.bytes = new Uint8Array(this.memory.buffer, WASM_TABLE_BYTES);
    this.words = new Int32Array(this.memory.buffer, WASM_TABLE_BYTES);
  }

  /**
   * Continues the CRC `crc` (given and returned as int32 bits, `| 0`) over `bytes[start, end)`,
   * `0 <= start <= end <= bytes.length`, like Go's `crc32.Update`.
   */
  crc(crc: number, start: number, end: number): number {
    return this.crcFn(crc, WASM_TABLE_BYTES + start, WASM_TABLE_BYTES + end);
  }

  /** Makes the buffer at least `minBytes` long, keeping its contents; new views. */
  grow(minBytes: number): void {
    const have = this.memory.buffer.byteLength;
    let size = have;
    while (size - WASM_TABLE_BYTES < minBytes) size *= 2;
    if (size > have) this.memory.grow((size - have) / PAGE);
    this.bytes = new Uint8Array(this.memory.buffer, WASM_TABLE_BYTES);
    this.words = new Int32Array(this.memory.buffer, WASM_TABLE_BYTES);
  }
}

/**
 * A new {@link WasmCrcBuffer} of at least `minBytes`, or undefined where the WebAssembly CRC is
 * not available (see the module comment) or the memory cannot be had.
 */
export function createWasmCrcBuffer(minBytes: number): WasmCrcBuffer | undefined {
  if (compiled === undefined) return undefined;
  try {
    return new WasmCrcBuffer(instantiate(compiled), minBytes);
  } catch {
    return undefined;
  }
}
