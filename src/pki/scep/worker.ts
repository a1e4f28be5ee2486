import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { Config } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { compose } from '../../main.ts';
import { MalformedMessage } from './pki-message.ts';
import { createScepService } from './service.ts';
import type { WorkerReply, WorkerRequest } from './worker-pool.ts';

// One SCEP worker: its own database connection and CA keys, answering pkiMessages that the
// main thread hands over, so that the RSA work of enrollments runs on every core.
const config = workerData as Config;
config.masterKey = config.masterKey ? Buffer.from(config.masterKey) : null;
const log = createLogger(config.logLevel).child({ mod: 'scep', worker: threadId });
const app = compose(config, log);
const scep = createScepService({ ca: app.ca, repo: app.pkiRepo, log, staticChallenge: config.scepChallenge, allowDes: config.scepAllowDes });
const port = parentPort!;

setInterval(() => {
  try {
    // Picks up an RA the main thread rotated.
    app.ca.rotateRaIfDue();
  } catch (e) {
    log.error({ err: e }, 'SCEP worker could not reload the RA');
  }
}, 3_600_000).unref();

port.on('message', ({ id, body }: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const r = scep.pkiOperation(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    reply = { id, result: r };
  } catch (e) {
    reply = e instanceof MalformedMessage ? { id, malformed: e.message } : { id, error: (e as Error).message };
    if (!(e instanceof MalformedMessage)) log.error({ err: e }, 'SCEP worker failed on a request');
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });
