/**
 * The window of in-flight `MsgApp`s to one follower, which bounds how far the leader runs ahead
 * of a follower in StateReplicate (flow control).
 * @module
 */

/**
 * A ring buffer of the in-flight append messages to one follower: for each, the index of the
 * last entry it carried and its size in bytes. The window is full when it holds `size`
 * messages, or (with `maxBytes > 0`) when the messages hold `maxBytes` bytes or more.
 *
 * Two `Float64Array`s (indexes and bytes; exact for integers up to 2^53) grown lazily by
 * doubling up to `size`, so a follower that never has much in flight costs little memory.
 * Positions are taken modulo `size`, not modulo the current buffer length, so growing never
 * moves an element.
 */
export class Inflights {
  /** The maximum number of messages in flight. Invariant: size > 0. */
  readonly size: number;
  /** The maximum number of bytes in flight; 0 means no limit. */
  readonly maxBytes: number;
  /** Position of the oldest in-flight message. Invariant: 0 <= start < size. */
  #start = 0;
  /** Number of messages in flight. Invariant: 0 <= count <= size. */
  #count = 0;
  /** Sum of the bytes of the messages in flight. */
  #bytes = 0;
  /** Last-entry index of each in-flight message; ascending from #start, modulo size. */
  #index: Float64Array;
  /** Size in bytes of each in-flight message. */
  #sizes: Float64Array;

  /**
   * Makes an empty window of `size` messages and (if > 0) `maxBytes` bytes.
   * @throws {RangeError} if `size` is not a positive integer or `maxBytes` is negative.
   */
  constructor(size: number, maxBytes = 0) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`raft: inflights size must be a positive integer, got ${size}`);
    if (!(maxBytes >= 0)) throw new RangeError(`raft: inflights maxBytes must be >= 0, got ${maxBytes}`);
    this.size = size;
    this.maxBytes = maxBytes;
    this.#index = new Float64Array(0);
    this.#sizes = new Float64Array(0);
  }

  /**
   * Records a message whose last entry is `index`, carrying `bytes` bytes of entries.
   * Indexes must be added in increasing order.
   * @throws {Error} (a bug in the caller) if the window is {@link full}.
   */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error("raft: cannot add into a full inflights");
    let next = this.#start + this.#count;
    if (next >= this.size) next -= this.size;
    if (next >= this.#index.length) this.#grow();
    this.#index[next] = index;
    this.#sizes[next] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  #grow(): void {
    const len = this.#index.length;
    const newLen = len === 0 ? Math.min(4, this.size) : Math.min(len * 2, this.size);
    const index = new Float64Array(newLen);
    index.set(this.#index);
    const sizes = new Float64Array(newLen);
    sizes.set(this.#sizes);
    this.#index = index;
    this.#sizes = sizes;
  }

  /** Frees every in-flight message whose last index is <= `to` (they were acknowledged). */
  freeLE(to: number): void {
    if (this.#count === 0 || to < this.#index[this.#start]!) return;
    let pos = this.#start;
    let i = 0;
    let freed = 0;
    for (; i < this.#count; i++) {
      if (to < this.#index[pos]!) break;
      freed += this.#sizes[pos]!;
      if (++pos >= this.size) pos -= this.size;
    }
    this.#count -= i;
    this.#bytes -= freed;
    this.#start = this.#count === 0 ? 0 : pos;
  }

  /** Whether no more messages may be sent: `size` are in flight, or the byte budget is used. */
  full(): boolean {
    return this.#count === this.size || (this.maxBytes > 0 && this.#bytes >= this.maxBytes);
  }

  /** The number of messages in flight. */
  count(): number {
    return this.#count;
  }

  /** The bytes in flight. */
  bytes(): number {
    return this.#bytes;
  }

  /** Forgets every in-flight message. Keeps the buffer. */
  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }

  /** A deep copy. */
  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    c.#start = this.#start;
    c.#count = this.#count;
    c.#bytes = this.#bytes;
    c.#index = this.#index.slice();
    c.#sizes = this.#sizes.slice();
    return c;
  }

  /** The last-entry indexes in flight, oldest first (for tests and debugging). */
  indexes(): number[] {
    const out: number[] = [];
    let pos = this.#start;
    for (let i = 0; i < this.#count; i++) {
      out.push(this.#index[pos]!);
      if (++pos >= this.size) pos -= this.size;
    }
    return out;
  }
}
