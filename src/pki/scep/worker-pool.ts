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
  inflight: Map<number, { resolve: (r: PkiResult) => void; reject: (e: Error) => void }>;
}

/**
 * A pool of SCEP workers. Each request goes to the least busy worker; a worker that dies fails
 * its in-flight requests (the client retries, and a retry is answered idempotently) and is
 * replaced.
 */
export async function workerPool(size: number, config: Config, log: Logger): Promise<PkiOperations> {
  const entry = scepWorkerEntry();
  let nextId = 0;
  let closing = false;
  const slots: Slot[] = [];

  const spawn = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(entry, { workerData: config });
      const slot: Slot = { worker, inflight: new Map() };
      slots[index] = slot;
      let ready = false;
      worker.on('message', (msg: WorkerReply | { ready: true }) => {
        if ('ready' in msg) {
          ready = true;
          return resolve();
        }
        const pending = slot.inflight.get(msg.id);
        if (!pending) return;
        slot.inflight.delete(msg.id);
        if ('result' in msg) pending.resolve({ ...msg.result, body: Buffer.from(msg.result.body) });
        else if ('malformed' in msg) pending.reject(new MalformedMessage(msg.malformed));
        else pending.reject(new Error(msg.error));
      });
      worker.once('error', (e) => {
        log.error({ err: e }, 'SCEP worker failed');
        reject(e);
      });
      worker.once('exit', (code) => {
        for (const p of slot.inflight.values()) p.reject(new Error(`SCEP worker exited with ${code}`));
        slot.inflight.clear();
        // A worker that never got ready would fail the same way again: the start fails instead of looping.
        if (!ready) return reject(new Error(`SCEP worker exited with ${code} while starting`));
        if (!closing) {
          log.warn({ code }, 'SCEP worker exited; starting another');
          spawn(index).catch((e) => log.error({ err: e }, 'could not restart a SCEP worker'));
        }
      });
    });

  try {
    await Promise.all(Array.from({ length: size }, (_, i) => spawn(i)));
  } catch (e) {
    // Workers that did start would keep the process alive after a failed start.
    closing = true;
    await Promise.all(slots.map((s) => s?.worker.terminate()));
    throw e;
  }
  log.info({ workers: size }, 'SCEP workers ready');

  return {
    pkiOperation(body) {
      const slot = slots.reduce((a, b) => (b.inflight.size < a.inflight.size ? b : a));
      const id = nextId++;
      return new Promise<PkiResult>((resolve, reject) => {
        slot.inflight.set(id, { resolve, reject });
        slot.worker.postMessage({ id, body } satisfies WorkerRequest);
      });
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
