/**
 * The closed-loop load client of the e2e workload: N clients, each on its own keep-alive
 * HTTP/1.1 connection to one server, each sending its next request only when the previous
 * answer has arrived (closed loop: offered load = what the server sustains at N outstanding
 * requests). Raw `net` sockets and prebuilt request bytes, with {@link ResponseReader} to frame
 * the answers, so the client costs little CPU and the same for every system measured.
 *
 * Timeline of one run: connect, `warmupSeconds` unmeasured, then `seconds` measured: a request
 * counts in the point when its answer arrives inside the measured window. After the window no
 * new request is sent; the ones in flight are awaited (at most `timeoutMs`) and not counted,
 * then every socket is closed. A request unanswered after `timeoutMs` counts as an error
 * (`timeout`) and its connection is replaced; a connection lost or refused counts as an error
 * (`connection`) and is reopened after 50 ms. Nothing retries a request.
 * @module
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import { LatencyHistogram } from "./histogram.js";
import { ProtocolError, ResponseReader, type Response } from "./http-response.js";

/** What to send: the next request of client `client`, or undefined when it has nothing more to send. */
export type NextRequest = (client: number) => { bytes: Buffer; minBodyBytes: number } | undefined;

/** The options of {@link runLoad}. */
export interface LoadOptions {
  host: string;
  port: number;
  /** Concurrent clients (connections), each with at most one request outstanding. */
  clients: number;
  next: NextRequest;
  /** Unmeasured seconds before the measured window (connections are opened during it). */
  warmupSeconds: number;
  /** Length of the measured window; Infinity: until every client's `next` returns undefined. */
  seconds: number;
  /** A request unanswered for this long is an error and its connection is replaced. */
  timeoutMs: number;
}

/** The outcome of {@link runLoad}: the measured window only, except `warmupErrors`. */
export interface LoadResult {
  /** 2xx answers in the window. */
  ok: number;
  /** Errors in the window by kind: `status NNN`, `timeout`, `connection`, `protocol`, `short body`. */
  errors: Record<string, number>;
  /** Total of `errors`. */
  errorCount: number;
  /** Errors during the warm-up (not part of the point; reported so they are not hidden). */
  warmupErrors: number;
  /** Length of the measured window in seconds (actual, from the clock). */
  seconds: number;
  /** Latencies of the 2xx answers in the window. */
  latency: LatencyHistogram;
  /** CPU seconds this process used during the window (user + system). */
  clientCpuSeconds: number;
  /** Requests sent in total (all phases), and connections opened. */
  sent: number;
  connects: number;
}

interface Client {
  id: number;
  socket: net.Socket | undefined;
  reader: ResponseReader;
  sentAt: number; // performance.now() of the outstanding request, or -1
  minBodyBytes: number;
  done: boolean;
  closing: boolean; // server announced Connection: close
}

/**
 * Runs the load (see the module comment) and resolves with the measured figures once every
 * socket is closed. Never rejects for request failures: those are counted in `errors`.
 */
export function runLoad(o: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve) => {
    const latency = new LatencyHistogram();
    const errors: Record<string, number> = {};
    let ok = 0;
    let errorCount = 0;
    let warmupErrors = 0;
    let sent = 0;
    let connects = 0;
    const t0 = performance.now();
    const measureStart = t0 + o.warmupSeconds * 1000;
    const measureEnd = o.seconds === Infinity ? Infinity : measureStart + o.seconds * 1000;
    let cpuStart: NodeJS.CpuUsage | undefined;
    let cpuSeconds = 0;
    let actualEnd = 0;
    let finished = false;
    const clients: Client[] = [];
    let active = o.clients;

    const fail = (kind: string, at: number): void => {
      if (at < measureStart) warmupErrors++;
      else if (at <= measureEnd) {
        errors[kind] = (errors[kind] ?? 0) + 1;
        errorCount++;
      }
    };

    const markDone = (c: Client): void => {
      if (c.done) return;
      c.done = true;
      c.sentAt = -1;
      c.socket?.destroy();
      c.socket = undefined;
      active--;
      if (active === 0) finish();
    };

    const send = (c: Client): void => {
      const now = performance.now();
      if (now >= measureEnd) return markDone(c);
      const req = o.next(c.id);
      if (req === undefined) return markDone(c);
      if (c.socket === undefined || c.closing) return connect(c);
      c.sentAt = performance.now();
      c.minBodyBytes = req.minBodyBytes;
      sent++;
      c.socket.write(req.bytes);
    };

    const onResponse = (c: Client, r: Response): void => {
      const now = performance.now();
      const ms = now - c.sentAt;
      c.sentAt = -1;
      if (r.status >= 200 && r.status < 300) {
        if (r.bodyBytes < c.minBodyBytes) fail("short body", now);
        else if (now >= measureStart && now <= measureEnd) {
          ok++;
          latency.record(ms);
        }
      } else {
        fail(`status ${r.status}`, now);
      }
      if (r.close) {
        c.closing = true;
      }
      send(c);
    };

    const drop = (c: Client, kind: string, counts: boolean): void => {
      // The connection is gone: count it as an error if it cost a request (or the connection
      // itself could not be made), then reopen unless done.
      const sock = c.socket;
      c.socket = undefined;
      sock?.destroy();
      if (c.done) return;
      const now = performance.now();
      if (counts) fail(kind, now);
      c.sentAt = -1;
      if (now >= measureEnd) return markDone(c);
      setTimeout(() => connect(c), kind === "connection" ? 50 : 0).unref();
    };

    const connect = (c: Client): void => {
      if (c.done) return;
      if (performance.now() >= measureEnd) return markDone(c);
      c.socket?.destroy();
      c.reader = new ResponseReader();
      c.closing = false;
      connects++;
      const s = net.connect({ host: o.host, port: o.port, noDelay: true });
      c.socket = s;
      let connected = false;
      s.on("connect", () => {
        connected = true;
        send(c);
      });
      s.on("data", (chunk: Buffer) => {
        if (c.socket !== s) return;
        let rs: Response[];
        try {
          rs = c.reader.push(chunk);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          return drop(c, "protocol", true);
        }
        for (const r of rs) onResponse(c, r);
      });
      // A connection that fails while a request is outstanding, or cannot be made at all, is an
      // error; one the server closes while idle (keep-alive timeout) is just reopened.
      const lost = (): void => {
        if (c.socket === s) drop(c, "connection", c.sentAt >= 0 || !connected);
      };
      s.on("error", lost);
      s.on("close", lost);
    };

    // One ticker times requests out, and ends the run when the stragglers outlive the timeout.
    const timer = setInterval(
      () => {
        const now = performance.now();
        for (const c of clients) {
          if (!c.done && c.sentAt >= 0 && now - c.sentAt > o.timeoutMs) drop(c, "timeout", true);
        }
        if (now > measureEnd + o.timeoutMs) for (const c of clients) markDone(c);
      },
      Math.min(100, Math.max(10, o.timeoutMs / 10)),
    );

    // The measured window is timed by its own timers so its ends do not wait for the ticker.
    const startTimer = setTimeout(
      () => {
        cpuStart = process.cpuUsage();
      },
      Math.max(0, measureStart - performance.now()),
    );
    const endTimer = Number.isFinite(measureEnd)
      ? setTimeout(
          () => {
            actualEnd = performance.now();
            const d = process.cpuUsage(cpuStart);
            cpuSeconds = (d.user + d.system) / 1e6;
          },
          Math.max(0, measureEnd - performance.now()),
        )
      : undefined;

    function finish(): void {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      clearTimeout(startTimer);
      if (endTimer !== undefined) clearTimeout(endTimer);
      const end = actualEnd > 0 ? actualEnd : performance.now();
      if (actualEnd === 0 && cpuStart !== undefined) {
        const d = process.cpuUsage(cpuStart);
        cpuSeconds = (d.user + d.system) / 1e6;
      }
      resolve({
        ok,
        errors,
        errorCount,
        warmupErrors,
        seconds: Math.max(0, end - measureStart) / 1000,
        latency,
        clientCpuSeconds: cpuSeconds,
        sent,
        connects,
      });
    }

    for (let i = 0; i < o.clients; i++) {
      const c: Client = { id: i, socket: undefined, reader: new ResponseReader(), sentAt: -1, minBodyBytes: 0, done: false, closing: false };
      clients.push(c);
    }
    if (o.clients === 0) return finish();
    for (const c of clients) connect(c);
  });
}
