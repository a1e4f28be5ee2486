import http from 'node:http';
import https from 'node:https';

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface HttpClient {
  request(url: string | URL, o?: HttpRequest): Promise<HttpReply>;
  close(): void;
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Keep-alive HTTP(S) for simulated devices: a device keeps its connection the way iOS does, and
 * a fleet of them costs the client little more than its signatures. HTTPS trusts what Node
 * trusts (the system store and NODE_EXTRA_CA_CERTS).
 */
export function createHttpClient(o: { maxSockets?: number } = {}): HttpClient {
  // As many idle connections kept as there may be busy ones: each device keeps its own.
  const limits = { keepAlive: true, maxSockets: o.maxSockets ?? Infinity, maxFreeSockets: o.maxSockets ?? 256 };
  const agents = { 'http:': new http.Agent(limits), 'https:': new https.Agent(limits) };

  const once = (url: URL, req: HttpRequest): Promise<HttpReply & { reused: boolean }> =>
    new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const headers = { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) };
      const r = mod.request(url, { method: req.method ?? 'GET', headers, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reused: r.reusedSocket }));
        res.on('error', reject);
      });
      r.on('error', (e: NodeJS.ErrnoException) => reject(Object.assign(e, { reused: r.reusedSocket })));
      r.end(req.body);
    });

  return {
    async request(target, req = {}) {
      const url = typeof target === 'string' ? new URL(target) : target;
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${url.href}`);
      try {
        return await once(url, req);
      } catch (e) {
        // The server may close an idle kept-alive connection just as we reuse it: the request
        // never reached it, so sending it again on a fresh connection is safe.
        const err = e as NodeJS.ErrnoException & { reused?: boolean };
        if (err.reused && RETRYABLE.has(err.code ?? '')) return once(url, req);
        throw e;
      }
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
