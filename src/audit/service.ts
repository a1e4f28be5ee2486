import type Database from 'better-sqlite3';
import type { Logger } from '../log.ts';
import type { AuditQuery, AuditRepo, AuditRow } from './repo.ts';

/** Who made a change, and from where. */
export interface Actor {
  kind: 'admin' | 'api_token' | 'system';
  id: string | null;
  name: string;
  address: string | null;
}

export interface AuditTarget {
  type: string;
  id: string;
  label?: string | null;
}

export interface AuditEvent {
  action: string;
  target?: AuditTarget | null;
  details?: Record<string, unknown> | null;
}

/** The command line: `mdm ...` run by whoever has the appliance's shell. */
export const CLI_ACTOR: Actor = { kind: 'system', id: 'cli', name: 'cli', address: null };

export type AuditEntry = AuditRow;

/** The append-only record of who changed what: written beside each change, read by the console and the API. */
export function createAudit(opts: { repo: AuditRepo; sqlite: Database.Database; log: Logger; now?: () => number }) {
  const { repo, sqlite, log } = opts;
  const now = opts.now ?? Date.now;

  function record(actor: Actor, event: AuditEvent): void {
    repo.insert({
      at: now(),
      actorKind: actor.kind,
      actorId: actor.id,
      actorName: actor.name,
      action: event.action,
      targetType: event.target?.type ?? null,
      targetId: event.target?.id ?? null,
      targetLabel: event.target?.label ?? null,
      address: actor.address,
      details: event.details ?? null,
    });
    log.info({ action: event.action, actor: actor.name, target: event.target?.id }, 'audit');
  }

  return {
    /** For a change already made that could not share its transaction (an async one, Google's answer...). */
    record,

    /**
     * Makes a synchronous change and records it in one transaction: a change that throws records
     * nothing, and no change stands without its record. Nests inside the services' own transactions.
     */
    within<T>(actor: Actor, change: () => T, event: (result: T) => AuditEvent): T {
      return sqlite
        .transaction(() => {
          const result = change();
          record(actor, event(result));
          return result;
        })
        .immediate();
    },

    /** Newest first; one row more than `limit` is read to tell whether an older page exists. */
    page(q: AuditQuery): { entries: AuditEntry[]; nextBefore: number | null } {
      const rows = repo.list({ ...q, limit: q.limit + 1 });
      const entries = rows.slice(0, q.limit);
      return { entries, nextBefore: rows.length > q.limit ? entries[entries.length - 1]!.id : null };
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
