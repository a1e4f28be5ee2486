import { Worker } from 'node:worker_threads';
import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import { MalformedMessage } from './pki-message.ts';
import { scepWorkerEntry } from '../../runtime/files.ts';
import type { ScepService } from './service.ts';

export type PkiResult = ReturnType<ScepService['pkiOperation']>;
export interface WorkerRequest {
  id: number;
  body: Uint8Array;
}
export type WorkerReply = { id: number; result: PkiResult } | { id: number; malformed: string } | { id: number; error: string };

/** Answers pkiMessages: in this thread, or on a pool of worker threads. */
export interface PkiOperations {
  pkiOperation(body: Uint8Array): Promise<PkiResult>;
  close(): Promise<void>;
}

export function inProcess(scep: ScepService): PkiOperations {
  return { pkiOperation: async (body) => scep.pkiOperation(body), close: async () => {} };
}

interface Slot {
  worker: Worker;
  ready: boolean;
  inflight: Map<number, { resolve: (r: PkiResult) => void; reject: (e: Error) => void }>;
  /** When its last request ended (or it became ready). */
  idleSince: number;
}

export interface WorkerPoolOptions {
  /** The most workers at once. */
  size: number;
  config: Config;
  log: Logger;
  /** Answers while no worker is ready: the main thread's own SCEP service. */
  fallback: PkiOperations;
  /** A worker without work this long is stopped. Default 5 minutes. */
  idleMs?: number;
  /** After a worker failed to start, none is tried for this long. Default 1 minute. */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * SCEP on worker threads, as many as the load needs: none while the appliance is idle (each
 * holds its own copy of the appliance's code and a database connection, ~40 MB), one more
 * whenever every running one is busy, up to `size`; a worker idle for idleMs stops. A request
 * never waits for a worker to start: until one is ready it is answered on the main thread. A
 * worker that dies fails its in-flight requests (the client retries, and a retry is answered
 * idempotently); one that cannot start is logged and not tried again for retryAfterMs.
 */
export function workerPool(o: WorkerPoolOptions): PkiOperations & { stats(): { workers: number; ready: number; busy: number } } {
  const { log } = o;
  const now = o.now ?? Date.now;
  const idleMs = o.idleMs ?? 300_000;
  const retryAfterMs = o.retryAfterMs ?? 60_000;
  const entry = scepWorkerEntry();
  const slots = new Set<Slot>();
  let nextId = 0;
  let closing = false;
  let noSpawnUntil = 0;

  function spawn(): void {
    const worker = new Worker(entry, { workerData: o.config });
    const slot: Slot = { worker, ready: false, inflight: new Map(), idleSince: now() };
    slots.add(slot);
    worker.on('message', (msg: WorkerReply | { ready: true }) => {
      if ('ready' in msg) {
        slot.ready = true;
        slot.idleSince = now();
        log.info({ workers: slots.size }, 'SCEP worker ready');
        return;
      }
      const pending = slot.inflight.get(msg.id);
      if (!pending) return;
      slot.inflight.delete(msg.id);
      if (slot.inflight.size === 0) slot.idleSince = now();
      if ('result' in msg) pending.resolve({ ...msg.result, body: Buffer.from(msg.result.body) });
      else if ('malformed' in msg) pending.reject(new MalformedMessage(msg.malformed));
      else pending.reject(new Error(msg.error));
    });
    worker.once('error', (e) => {
      log.error({ err: e }, slot.ready ? 'SCEP worker failed' : 'SCEP worker could not start: answering on the main thread');
    });
    worker.once('exit', (code) => {
      slots.delete(slot);
      for (const p of slot.inflight.values()) p.reject(new Error(`SCEP worker exited with ${code}`));
      slot.inflight.clear();
      // One that never got ready would fail the same way again: not retried at once.
      if (!slot.ready && !closing) noSpawnUntil = now() + retryAfterMs;
    });
  }

  const sweep = setInterval(
    () => {
      for (const slot of slots) {
        if (slot.ready && slot.inflight.size === 0 && now() - slot.idleSince >= idleMs) {
          slots.delete(slot);
          void slot.worker.terminate();
          log.info({ workers: slots.size }, 'SCEP worker stopped: idle');
        }
      }
    },
    Math.max(50, Math.min(60_000, idleMs / 4)),
  );
  sweep.unref();

  return {
    pkiOperation(body) {
      let best: Slot | null = null;
      let starting = false;
      for (const slot of slots) {
        if (!slot.ready) starting = true;
        else if (!best || slot.inflight.size < best.inflight.size) best = slot;
      }
      // Every ready worker busy (or none) and room for another: start one for what follows.
      if (!closing && !starting && (!best || best.inflight.size > 0) && slots.size < o.size && now() >= noSpawnUntil) spawn();
      if (!best) return o.fallback.pkiOperation(body);
      const slot = best;
      const id = nextId++;
      return new Promise<PkiResult>((resolve, reject) => {
        slot.inflight.set(id, { resolve, reject });
        slot.worker.postMessage({ id, body } satisfies WorkerRequest);
      });
    },
    stats() {
      let ready = 0;
      let busy = 0;
      for (const slot of slots) {
        if (slot.ready) ready++;
        if (slot.inflight.size > 0) busy++;
      }
      return { workers: slots.size, ready, busy };
    },
    async close() {
      closing = true;
      clearInterval(sweep);
      await Promise.all([...slots].map((s) => s.worker.terminate()));
      slots.clear();
      await o.fallback.close();
    },
  };
}
