import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookReceiver {
  url: string;
  /** Every delivery's JSON body, in arrival order. */
  hooks: Array<{ type: string; data: Record<string, any> }>;
  close(): void;
}

/** A webhook endpoint that accepts everything (204) and keeps what it was sent. */
export async function startHookReceiver(): Promise<HookReceiver> {
  const hooks: HookReceiver['hooks'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, hooks, close: () => server.close() };
}
