import type { Logger } from '../log.ts';
import type { BuiltCommand, CommandQueue } from './queue.ts';
import type { AppleRepo } from './repo.ts';

/**
 * Periodic queue upkeep: expires commands past their TTL and refreshes inventories older than
 * the interval. Each inventory command is queued once per batch of due devices (one command, many
 * targets). Batches are small and the event loop is given back between them: a whole fleet due at
 * once (the first day, a long downtime) must not stall the check-ins and pages served meanwhile.
 */
export function createAppleMaintenance(opts: {
  repo: AppleRepo;
  queue: CommandQueue;
  log: Logger;
  inventoryIntervalMs: number;
  inventoryCommands: () => BuiltCommand[];
  now?: () => number;
}) {
  const now = opts.now ?? Date.now;
  const BATCH = 500;
  return {
    async run(): Promise<{ expired: number; refreshed: number }> {
      const expired = opts.queue.expire();
      let refreshed = 0;
      let after = '';
      for (;;) {
        const due = opts.repo.inventoryDue(now() - opts.inventoryIntervalMs, BATCH, after);
        if (!due.length) break;
        for (const c of opts.inventoryCommands()) opts.queue.enqueue(c, due, { createdBy: 'inventory-refresh' });
        refreshed += due.length;
        after = due[due.length - 1]!;
        if (due.length < BATCH) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (expired || refreshed) opts.log.info({ expired, refreshed }, 'Apple queue maintenance');
      return { expired, refreshed };
    },
  };
}
