/**
 * ResponseReader: an incremental reader of HTTP/1.1 responses on one keep-alive connection,
 * just enough for the load client: the status code, the body length (Content-Length or
 * chunked transfer encoding, the two framings the KV service and etcd's gateway use), and
 * whether the server will close the connection. The body itself is skipped, not decoded.
 *
 * Why not node:http: its client costs several times more CPU per request than this reader, and
 * the load client shares the machine's 2 cores with the servers it measures (bench/README.md,
 * "The load client", has the figures).
 * @module
 */

/** One complete response. */
export interface Response {
  status: number;
  /** Body bytes (after de-chunking). */
  bodyBytes: number;
  /** The server said `Connection: close`: no further response will come on this connection. */
  close: boolean;
}

/** A response the reader cannot frame (no length, bad chunk size, not HTTP/1.x). */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code = "TSRAFT_BENCH_HTTP_PROTOCOL";
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
/** A header section longer than this is an error (bounded memory). */
const MAX_HEAD = 16 * 1024;

enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailer,
}

/** See the module comment. Feed bytes with {@link push}; it returns the responses they complete. */
export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private state = State.Head;
  private status = 0;
  private close = false;
  private remaining = 0;
  private bodyBytes = 0;

  /** True when no response is partly read. */
  idle(): boolean {
    return this.state === State.Head && this.buf.length === 0;
  }

  /**
   * Consumes `chunk` and returns the responses completed by it (usually none or one).
   * @throws {@link ProtocolError} when the bytes are not a response this reader can frame.
   */
  push(chunk: Buffer): Response[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Response[] = [];
    let pos = 0;
    for (;;) {
      const next = this.step(pos, out);
      if (next < 0) break;
      pos = next;
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    return out;
  }

  /** Advances from `pos`; returns the new position, or -1 when more bytes are needed. */
  private step(pos: number, out: Response[]): number {
    const b = this.buf;
    switch (this.state) {
      case State.Head: {
        const end = b.indexOf(CRLFCRLF, pos);
        if (end < 0) {
          if (b.length - pos > MAX_HEAD) throw new ProtocolError(`response head over ${MAX_HEAD} bytes`);
          return -1;
        }
        this.readHead(b.toString("latin1", pos, end));
        if ((this.state as State) === State.Body && this.remaining === 0) this.finish(out);
        return end + 4;
      }
      case State.Body: {
        const n = Math.min(this.remaining, b.length - pos);
        if (n === 0) return -1;
        this.remaining -= n;
        this.bodyBytes += n;
        if (this.remaining === 0) this.finish(out);
        return pos + n;
      }
      case State.ChunkSize: {
        const end = b.indexOf(CRLF, pos);
        if (end < 0) {
          if (b.length - pos > 64) throw new ProtocolError("chunk size line too long");
          return -1;
        }
        const line = b.toString("latin1", pos, end);
        const size = parseInt(line.split(";")[0]!.trim(), 16);
        if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]/.test(line)) throw new ProtocolError(`bad chunk size ${JSON.stringify(line)}`);
        this.remaining = size;
        this.state = size === 0 ? State.Trailer : State.ChunkData;
        return end + 2;
      }
      case State.ChunkData: {
        const n = Math.min(this.remaining, b.length - pos);
        if (n === 0) return -1;
        this.remaining -= n;
        this.bodyBytes += n;
        if (this.remaining === 0) this.state = State.ChunkEnd;
        return pos + n;
      }
      case State.ChunkEnd: {
        if (b.length - pos < 2) return -1;
        if (b[pos] !== 13 || b[pos + 1] !== 10) throw new ProtocolError("chunk not followed by CRLF");
        this.state = State.ChunkSize;
        return pos + 2;
      }
      case State.Trailer: {
        // Trailer fields (none expected) end with an empty line.
        const end = b.indexOf(CRLF, pos);
        if (end < 0) return -1;
        if (end === pos) {
          this.finish(out);
        }
        return end + 2;
      }
    }
  }

  private readHead(head: string): void {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (m === null) throw new ProtocolError(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    this.status = Number(m[1]);
    const lower = head.toLowerCase();
    this.close = /\r\nconnection:[ \t]*close/.test(lower);
    this.bodyBytes = 0;
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      this.state = State.ChunkSize;
      return;
    }
    const cl = /\r\ncontent-length:[ \t]*(\d+)/.exec(lower);
    if (cl !== null) {
      this.remaining = Number(cl[1]);
      this.state = State.Body;
      return;
    }
    if (this.status === 204 || this.status === 304) {
      this.remaining = 0;
      this.state = State.Body;
      return;
    }
    throw new ProtocolError(`response ${this.status} has neither Content-Length nor chunked encoding`);
  }

  private finish(out: Response[]): void {
    out.push({ status: this.status, bodyBytes: this.bodyBytes, close: this.close });
    this.state = State.Head;
    this.remaining = 0;
  }
}
