import { Fifo } from './fifo.ts';

/**
 * A counting semaphore bounding the pushes a client holds at once: past the bound, callers wait
 * in line instead of the client buffering without limit. close() turns every waiter away.
 */
export class Slots {
  private free: number;
  private readonly waiters = new Fifo<(granted: boolean) => void>();
  private closed = false;

  constructor(readonly limit: number) {
    this.free = limit;
  }

  get inUse(): number {
    return this.limit - this.free;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Takes a slot if one is free now, without waiting. */
  tryAcquire(): boolean {
    if (this.closed || this.free === 0) return false;
    this.free--;
    return true;
  }

  /** Resolves true with a slot held, or false when the semaphore is closed. */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    // The slot passes straight to the next waiter, so a late caller cannot overtake the line.
    if (next) next(true);
    else this.free++;
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.drain()) w(false);
  }
}
