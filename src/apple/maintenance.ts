import type { Logger } from '../log.ts';
import type { BuiltCommand, CommandQueue } from './queue.ts';
import type { AppleRepo } from './repo.ts';

/**
 * Periodic queue upkeep: expires commands past their TTL and refreshes inventories older than
 * the interval. Each inventory command is queued once for all due devices (one command, many
 * targets), in batches so a large fleet does not hold the write lock for long.
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
  const BATCH = 10_000;
  return {
    run(): { expired: number; refreshed: number } {
      const expired = opts.queue.expire();
      let refreshed = 0;
      for (;;) {
        const due = opts.repo.inventoryDue(now() - opts.inventoryIntervalMs, BATCH);
        if (!due.length) break;
        for (const c of opts.inventoryCommands()) opts.queue.enqueue(c, due, { createdBy: 'inventory-refresh' });
        refreshed += due.length;
        if (due.length < BATCH) break;
      }
      if (expired || refreshed) opts.log.info({ expired, refreshed }, 'Apple queue maintenance');
      return { expired, refreshed };
    },
  };
}
