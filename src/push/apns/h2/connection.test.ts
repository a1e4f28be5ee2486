import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { H2Connection, type StreamAbort, type StreamHandler } from './connection.ts';
import { ErrorCode, Flag, FrameType, frame, u32 } from './frames.ts';
import { encodeFields, type HeaderList } from './hpack.ts';

// Node's own HTTP/2 server (nghttp2) as the peer, in cleartext: the connection takes any duplex.

interface Reply {
  status?: number;
  headers?: HeaderList;
  body?: Buffer;
  abort?: StreamAbort;
}

interface Events {
  settings: number[];
  goaways: Array<{ code: number; last: number; data: string }>;
  errors: Error[];
  closed: Promise<void>;
}

function connect(port: number): { conn: H2Connection; events: Events; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  let closed!: () => void;
  const events: Events = { settings: [], goaways: [], errors: [], closed: new Promise((r) => (closed = r)) };
  const conn = new H2Connection(socket, {
    onSettings: (n) => events.settings.push(n),
    onGoaway: (code, last, data) => events.goaways.push({ code, last, data: data.toString() }),
    onError: (err) => events.errors.push(err),
    onClose: () => closed(),
  });
  return { conn, events, socket };
}

async function ready(events: Events): Promise<void> {
  while (events.settings.length === 0) await new Promise((r) => setTimeout(r, 2));
}

function request(conn: H2Connection, path: string, body: Buffer | string = '', extra: HeaderList = []): Promise<Reply> & { id: number } {
  let id = 0;
  const p = new Promise<Reply>((resolve) => {
    const reply: Reply = {};
    const chunks: Buffer[] = [];
    const handler: StreamHandler = {
      onResponse(status, headers) {
        reply.status = status;
        reply.headers = headers;
      },
      onData: (chunk) => chunks.push(Buffer.from(chunk)),
      onEnd() {
        reply.body = Buffer.concat(chunks);
        resolve(reply);
      },
      onAbort(abort) {
        reply.abort = abort;
        resolve(reply);
      },
    };
    const block = encodeFields([3, 6, [1, 'localhost'], [4, path], ...extra.map(([n, v]) => [n, v] as [string, string])]);
    id = conn.request(block, Buffer.isBuffer(body) ? body : Buffer.from(body), handler);
  });
  return Object.assign(p, { id });
}

const header = (r: Reply, name: string) => r.headers?.find(([n]) => n === name)?.[1];

// ---- a server that exercises what nghttp2 can send

const server = http2.createServer({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX, maxSessionMemory: 100 });
server.on('stream', (stream, headers) => {
  // Streams refused by a GOAWAY error on this side: expected here.
  stream.on('error', () => {});
  const path = String(headers[':path']);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    if (path === '/echo') {
      stream.respond({ ':status': 200, 'x-length': String(body.length), 'x-repeat': 'same value every time' });
      stream.end(body);
    } else if (path === '/big-headers') {
      // Above the 16 KiB frame size: HEADERS + CONTINUATION.
      stream.respond({ ':status': 200, 'x-big': 'b'.repeat(40_000) });
      stream.end();
    } else if (path === '/informational') {
      stream.additionalHeaders({ ':status': 103, link: '</a>' });
      stream.respond({ ':status': 204 }, { endStream: true });
    } else if (path === '/trailers') {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'yes' }));
      stream.end('body');
    } else if (path === '/reset') {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } else if (path === '/refuse') {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    } else if (path === '/goaway') {
      stream.respond({ ':status': 200 });
      stream.end();
      stream.session!.goaway(0, stream.id, Buffer.from('{"reason":"Shutdown"}'));
    } else if (path === '/slow') {
      setTimeout(() => {
        if (stream.closed) return;
        stream.respond({ ':status': 200 });
        stream.end();
      }, 50);
    } else {
      stream.respond({ ':status': 404, 'content-type': 'application/json' });
      stream.end('{"reason":"NotFound"}');
    }
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
const sessions = new Set<http2.ServerHttp2Session>();
server.on('session', (s) => {
  sessions.add(s);
  s.on('close', () => sessions.delete(s));
});
after(() => {
  for (const s of sessions) s.destroy();
  server.close();
});

test('many requests with bodies beyond every flow-control window, answered with padded frames and an indexed header', async () => {
  const { conn, events } = connect(port);
  await ready(events);
  // 40 × 10 KiB is six times the connection's initial window: bodies wait for WINDOW_UPDATEs.
  const bodies = Array.from({ length: 40 }, (_, i) => Buffer.alloc(10_240, i));
  const replies = await Promise.all([...bodies.map((b) => request(conn, '/echo', b)), request(conn, '/echo', Buffer.alloc(200_000, 7))]);
  replies.forEach((r, i) => {
    assert.equal(r.status, 200);
    const sent = i < bodies.length ? bodies[i]! : Buffer.alloc(200_000, 7);
    assert.equal(header(r, 'x-length'), String(sent.length));
    assert.equal(header(r, 'x-repeat'), 'same value every time');
    assert.ok(r.body!.equals(sent));
  });
  // Answers beyond the connection's receive window came through: it is refilled as it is read.
  assert.equal(conn.activeStreams, 0);
  conn.close();
  await events.closed;
  assert.deepEqual(events.errors, []);
});

test('a header block over CONTINUATION frames, a 1xx before the answer, trailers, and a 404 with its body', async () => {
  const { conn, events } = connect(port);
  await ready(events);
  const [big, info, trailers, missing] = await Promise.all([request(conn, '/big-headers'), request(conn, '/informational'), request(conn, '/trailers'), request(conn, '/nowhere')]);
  assert.equal(header(big, 'x-big'), 'b'.repeat(40_000));
  assert.equal(info.status, 204);
  assert.equal(trailers.status, 200);
  assert.equal(trailers.body!.toString(), 'body');
  assert.equal(missing.status, 404);
  assert.equal(missing.body!.toString(), '{"reason":"NotFound"}');
  // The dynamic table stayed in step: the same header again, now indexed by the server.
  assert.equal(header(await request(conn, '/echo', 'x'), 'x-repeat'), 'same value every time');
  conn.destroy();
});

test('RST_STREAM from the server: REFUSED_STREAM is "refused" (never processed), others are resets', async () => {
  const { conn, events } = connect(port);
  await ready(events);
  const [reset, refused, fine] = await Promise.all([request(conn, '/reset'), request(conn, '/refuse'), request(conn, '/echo', 'ok')]);
  assert.deepEqual(reset.abort, { kind: 'reset', code: ErrorCode.INTERNAL_ERROR });
  assert.deepEqual(refused.abort, { kind: 'refused', goaway: false });
  assert.equal(fine.status, 200);
  conn.destroy();
});

test('GOAWAY: streams above its last id are refused, those below finish, and no new stream is taken', async () => {
  const { conn, events } = connect(port);
  await ready(events);
  const slow = request(conn, '/slow');
  const goaway = request(conn, '/goaway');
  const above = request(conn, '/slow');
  const [s, g, a] = await Promise.all([slow, goaway, above]);
  assert.equal(s.status, 200);
  assert.equal(g.status, 200);
  assert.deepEqual(a.abort, { kind: 'refused', goaway: true });
  assert.deepEqual(events.goaways, [{ code: 0, last: goaway.id, data: '{"reason":"Shutdown"}' }]);
  assert.equal(conn.canRequest, false);
  assert.throws(() => conn.request(Buffer.from([0x82]), Buffer.alloc(0), { onResponse() {}, onData() {}, onEnd() {}, onAbort() {} }), { code: 'ERR_HTTP2_GOAWAY_SESSION' });
  await events.closed;
});

test('PING is answered; reset() gives a stream up without a word to its handler; destroy() aborts the rest', async () => {
  const { conn, events } = connect(port);
  await ready(events);
  await new Promise<void>((resolve) => conn.ping(resolve));
  let heard = false;
  const id = conn.request(encodeFields([3, 6, [1, 'localhost'], [4, '/slow']]), Buffer.alloc(0), {
    onResponse: () => (heard = true),
    onData: () => (heard = true),
    onEnd: () => (heard = true),
    onAbort: () => (heard = true),
  });
  conn.reset(id);
  const pending = request(conn, '/slow');
  conn.destroy(Object.assign(new Error('gone'), { code: 'ETEST' }));
  const r = await pending;
  assert.equal(r.abort?.kind, 'connection');
  assert.equal((r.abort as { error: { code: string } }).error.code, 'ETEST');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(heard, false);
  await events.closed;
});

// ---- a scripted peer that breaks the protocol

async function scripted(respond: (socket: net.Socket) => void): Promise<{ port: number; received: Promise<Buffer>; close(): void }> {
  let got!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (got = r));
  const srv = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => got(Buffer.concat(chunks)));
    socket.on('error', () => {});
    respond(socket);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, received, close: () => srv.close() };
}

/** The frames a client wrote after its preface. */
function framesOf(bytes: Buffer): Array<{ type: number; flags: number; id: number; payload: Buffer }> {
  const out = [];
  let pos = 24;
  while (pos + 9 <= bytes.length) {
    const len = bytes.readUIntBE(pos, 3);
    out.push({ type: bytes[pos + 3]!, flags: bytes[pos + 4]!, id: bytes.readUInt32BE(pos + 5), payload: bytes.subarray(pos + 9, pos + 9 + len) });
    pos += 9 + len;
  }
  return out;
}

const violations: Array<[string, Buffer[], number]> = [
  ['a first frame that is not SETTINGS', [frame(FrameType.PING, 0, 0, Buffer.alloc(8))], ErrorCode.PROTOCOL_ERROR],
  ['DATA for a stream never opened', [frame(FrameType.SETTINGS, 0, 0), frame(FrameType.DATA, 0, 3, Buffer.from('x'))], ErrorCode.PROTOCOL_ERROR],
  ['a PUSH_PROMISE with push disabled', [frame(FrameType.SETTINGS, 0, 0), frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, u32(2))], ErrorCode.PROTOCOL_ERROR],
  ['a header block HPACK cannot decode', [frame(FrameType.SETTINGS, 0, 0), frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80]))], ErrorCode.COMPRESSION_ERROR],
  ['a frame above the frame size', [frame(FrameType.SETTINGS, 0, 0), frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000))], ErrorCode.FRAME_SIZE_ERROR],
  ['a window pushed above 2^31-1', [frame(FrameType.SETTINGS, 0, 0), frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))], ErrorCode.FLOW_CONTROL_ERROR],
];

for (const [name, frames, code] of violations) {
  test(`a server sending ${name} gets a GOAWAY with error ${code}, and the open stream is aborted`, async () => {
    const peer = await scripted((socket) => socket.once('data', () => socket.write(Buffer.concat(frames))));
    try {
      const { conn, events } = connect(peer.port);
      const r = await request(conn, '/x');
      assert.equal(r.abort?.kind, 'connection');
      assert.equal(events.errors.length, 1);
      assert.equal((events.errors[0] as Error & { h2code: number }).h2code, code);
      const goaway = framesOf(await peer.received).find((f) => f.type === FrameType.GOAWAY);
      assert.ok(goaway, 'a GOAWAY was sent');
      assert.equal(goaway.payload.readUInt32BE(4), code);
      await events.closed;
    } finally {
      peer.close();
    }
  });
}

test('the client preface and SETTINGS are what RFC 9113 asks, and SETTINGS from the server are acknowledged', async () => {
  const peer = await scripted((socket) =>
    socket.once('data', () => {
      const s = Buffer.alloc(6);
      s.writeUInt16BE(3, 0);
      s.writeUInt32BE(7, 2);
      socket.write(frame(FrameType.SETTINGS, 0, 0, s));
      setTimeout(() => socket.end(), 30);
    }),
  );
  try {
    const { events } = connect(peer.port);
    await events.closed;
    assert.deepEqual(events.settings, [7]);
    const bytes = await peer.received;
    assert.equal(bytes.subarray(0, 24).toString('latin1'), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const frames = framesOf(bytes);
    assert.equal(frames[0]!.type, FrameType.SETTINGS);
    assert.deepEqual([...frames[0]!.payload], [0, 2, 0, 0, 0, 0]); // ENABLE_PUSH 0
    assert.ok(frames.some((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK));
  } finally {
    peer.close();
  }
});
