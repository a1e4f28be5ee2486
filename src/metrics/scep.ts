import { MessageType } from '../pki/scep/constants.ts';
import { MalformedMessage } from '../pki/scep/pki-message.ts';
import type { PkiOperations } from '../pki/scep/worker-pool.ts';
import type { Metrics } from './metrics.ts';

// The attribute is the client's string: only known values become labels, so a client cannot mint series.
const NAMES = new Map<string, string>(Object.entries(MessageType).map(([name, value]) => [value, name]));

/** SCEP operations that count their outcomes, wherever they run (in process or on workers). */
export function countedScep(operations: PkiOperations, metrics: Pick<Metrics, 'scep'>): PkiOperations {
  return {
    async pkiOperation(body) {
      try {
        const r = await operations.pkiOperation(body);
        metrics.scep(NAMES.get(r.messageType) ?? 'other', r.outcome);
        return r;
      } catch (e) {
        if (e instanceof MalformedMessage) metrics.scep('unknown', 'malformed');
        throw e;
      }
    },
    close: () => operations.close(),
  };
}
