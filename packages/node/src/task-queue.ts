/**
 * A queue of tasks drained by one asynchronous worker at a time: RaftNode's storage writer and
 * its applier are each one of these, so persisting and applying run concurrently with each
 * other and with the Ready loop, each in its own order.
 * @module
 */

/** See the module comment. `T` is what a task holds. */
export class TaskQueue<T> {
  /** Invariant: tasks[head..] are the queued tasks, oldest first. */
  private tasks: T[] = [];
  private head = 0;
  private running = false;
  private stopped = false;
  private current: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];

  /**
   * @param drain takes tasks with {@link shift} until it has none left (or chooses to stop);
   *   called again when tasks are queued after it returned
   * @param onError called when `drain` rejects; the queue is stopped then
   */
  constructor(
    private readonly drain: (q: TaskQueue<T>) => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Queues a task; the worker starts on the next microtask if it is idle. */
  push(t: T): void {
    if (this.stopped) return;
    this.tasks.push(t);
    if (!this.running) {
      this.running = true;
      // Not synchronously: the caller (the Ready loop) finishes its turn first.
      queueMicrotask(() => this.start());
    }
  }

  /** The oldest queued task, without taking it. */
  peek(): T | undefined {
    return this.head < this.tasks.length ? this.tasks[this.head] : undefined;
  }

  /** Takes the oldest queued task. */
  shift(): T | undefined {
    if (this.head >= this.tasks.length) return undefined;
    const t = this.tasks[this.head]!;
    this.head++;
    if (this.head === this.tasks.length) {
      this.tasks = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.tasks.length) {
      this.tasks = this.tasks.slice(this.head);
      this.head = 0;
    }
    return t;
  }

  /** Tasks queued and not yet taken. */
  get length(): number {
    return this.tasks.length - this.head;
  }

  /** Resolves once no task is queued or being worked on. */
  whenIdle(): Promise<void> {
    if (!this.running && this.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops the queued tasks and takes no more; resolves when the task in progress is done. */
  stop(): Promise<void> {
    this.stopped = true;
    this.tasks = [];
    this.head = 0;
    return this.current.then(() => this.wakeIdle());
  }

  private start(): void {
    if (this.stopped) {
      this.running = false;
      this.wakeIdle();
      return;
    }
    this.current = this.drain(this).then(
      () => this.finish(),
      (err: unknown) => {
        this.running = false;
        this.stopped = true;
        this.wakeIdle();
        this.onError(err);
      },
    );
  }

  private finish(): void {
    if (!this.stopped && this.length > 0) {
      this.start();
      return;
    }
    this.running = false;
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    if (w.length === 0) return;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
