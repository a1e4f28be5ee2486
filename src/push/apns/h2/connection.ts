import type { Duplex } from 'node:stream';
import {
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  FRAME_HEADER,
  Flag,
  FrameType,
  MAX_WINDOW,
  PREFACE,
  Setting,
  frame,
  u32,
  writeFrameHeader,
} from './frames.ts';
import { HpackDecoder, HpackError, type HeaderList } from './hpack.ts';

/**
 * A client-side HTTP/2 connection (RFC 9113) for many small requests with small answers: APNs
 * pushes. Node's http2 client was measured at ~100 µs of CPU per push, half of it per-stream
 * object machinery (a Duplex per stream, an AsyncResource and bound functions per request,
 * header objects); APNs at fleet scale needs a fraction of that. This does only what a client
 * of such a server needs: requests with a body, responses with status, headers and a small
 * body, flow control on both sides, SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION. It never
 * accepts pushed streams, and it sends headers without Huffman coding or indexing, so its own
 * HPACK state is the peer's table only.
 */

export interface StreamHandler {
  /** The final response's headers (1xx ones are skipped). */
  onResponse(status: number, headers: HeaderList): void;
  onData(chunk: Buffer): void;
  /** The response is complete. */
  onEnd(): void;
  /** The stream ended without a complete response. */
  onAbort(abort: StreamAbort): void;
}

export type StreamAbort =
  /** The server never acted on it: REFUSED_STREAM, or above a GOAWAY's last stream id. Safe to resend. */
  | { kind: 'refused'; goaway: boolean }
  /** Reset by the server, or by us for its protocol error on this stream. */
  | { kind: 'reset'; code: number }
  /** The connection broke or was closed under it. */
  | { kind: 'connection'; error: unknown };

export interface ConnectionEvents {
  /** Each SETTINGS frame from the server (the first one makes the connection usable). */
  onSettings(maxConcurrentStreams: number): void;
  onGoaway(code: number, lastStreamId: number, debugData: Buffer): void;
  /** A protocol violation by the server ended the connection. */
  onError(err: Error): void;
  onClose(): void;
}

interface Stream {
  readonly id: number;
  readonly handler: StreamHandler;
  sendWindow: number;
  recvWindow: number;
  /** Request body bytes not yet sent (flow control). */
  body: Buffer | null;
  gotResponse: boolean;
}

const MAX_STREAM_ID = 0x7fffffff;
/** Response header lists beyond this are not APNs: the connection is refused. */
const MAX_HEADER_LIST = 65_536;
// The connection's receive window is replenished once this much of it is used.
const WINDOW_REFILL = DEFAULT_WINDOW >>> 1;

function sessionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class H2Connection {
  destroyed = false;
  /** No new streams: a GOAWAY came, close() was called, or stream ids ran out. */
  closing = false;
  private nextId = 1;
  private readonly streams = new Map<number, Stream>();
  private readonly blocked = new Set<Stream>();
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private recvUsed = 0;
  private readonly hpack = new HpackDecoder();
  private continuation: { id: number; chunks: Buffer[]; bytes: number; endStream: boolean } | null = null;
  private readonly pings: Array<() => void> = [];
  private out: Buffer[] = [];
  private flushScheduled = false;
  private partial: Buffer | null = null;
  private sawSettings = false;
  private error: Error | undefined;
  private socketError: unknown;

  constructor(
    private readonly socket: Duplex,
    private readonly events: ConnectionEvents,
  ) {
    this.queue(PREFACE);
    // No server push; everything else at the protocol's defaults.
    const settings = Buffer.allocUnsafe(6);
    settings.writeUInt16BE(Setting.ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    this.queue(frame(FrameType.SETTINGS, 0, 0, settings));
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (err: unknown) => (this.socketError ??= err));
    socket.on('close', () => {
      this.destroy(this.error ?? this.socketError ?? sessionError('ERR_HTTP2_SOCKET_CLOSED', 'the connection closed'));
      this.events.onClose();
    });
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  get canRequest(): boolean {
    return !this.destroyed && !this.closing;
  }

  /**
   * Opens a stream: HEADERS with `headerBlock` (an HPACK block), then `body` as DATA as flow
   * control allows. The handler is never called from inside this call. Throws when the
   * connection takes no new streams.
   */
  request(headerBlock: Buffer, body: Buffer, handler: StreamHandler): number {
    if (this.destroyed) throw sessionError('ERR_HTTP2_INVALID_SESSION', 'the connection is closed');
    if (this.closing) throw sessionError('ERR_HTTP2_GOAWAY_SESSION', 'the connection takes no new streams');
    if (headerBlock.length > this.peerMaxFrame) throw sessionError('ERR_HTTP2_HEADERS_TOO_LARGE', 'header block above the frame size');
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > MAX_STREAM_ID) this.closing = true;
    const s: Stream = { id, handler, sendWindow: this.peerInitialWindow, recvWindow: DEFAULT_WINDOW, body: null, gotResponse: false };
    this.streams.set(id, s);
    const n = body.length;
    if (n === 0) {
      this.queue(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, headerBlock));
    } else if (n <= this.sendWindow && n <= s.sendWindow && n <= this.peerMaxFrame) {
      // Nearly always: both frames in one buffer.
      const buf = Buffer.allocUnsafe(FRAME_HEADER * 2 + headerBlock.length + n);
      let pos = writeFrameHeader(buf, 0, headerBlock.length, FrameType.HEADERS, Flag.END_HEADERS, id);
      pos += headerBlock.copy(buf, pos);
      pos = writeFrameHeader(buf, pos, n, FrameType.DATA, Flag.END_STREAM, id);
      body.copy(buf, pos);
      this.sendWindow -= n;
      s.sendWindow -= n;
      this.queue(buf);
    } else {
      this.queue(frame(FrameType.HEADERS, Flag.END_HEADERS, id, headerBlock));
      s.body = body;
      this.blocked.add(s);
      this.sendBlocked();
    }
    return id;
  }

  /** Gives a stream up (RST_STREAM); its handler hears nothing more. */
  reset(id: number, code: number = ErrorCode.CANCEL): void {
    const s = this.streams.get(id);
    if (!s) return;
    this.forget(s);
    if (!this.destroyed) this.queue(frame(FrameType.RST_STREAM, 0, id, u32(code)));
    this.endIfClosing();
  }

  ping(onAck: () => void): void {
    if (this.destroyed) throw sessionError('ERR_HTTP2_INVALID_SESSION', 'the connection is closed');
    this.pings.push(onAck);
    this.queue(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
  }

  /** No new streams; once the open ones end, a GOAWAY and the end of the connection. */
  close(): void {
    this.closing = true;
    this.endIfClosing();
  }

  /** Ends now: open streams are aborted with `error`. */
  destroy(error?: unknown): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    const err = error ?? this.error ?? sessionError('ERR_HTTP2_SESSION_CLOSED', 'the connection was closed');
    const open = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    this.pings.length = 0;
    if (!this.socket.destroyed) {
      this.flush();
      this.socket.destroy();
    }
    for (const s of open) s.handler.onAbort({ kind: 'connection', error: err });
  }

  // ---- writing

  private queue(buf: Buffer): void {
    this.out.push(buf);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Everything queued in this tick goes out as one write (one TLS record where it fits).
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private sendBlocked(): void {
    for (const s of this.blocked) {
      if (this.sendWindow <= 0) return;
      const body = s.body!;
      const n = Math.min(body.length, this.sendWindow, s.sendWindow, this.peerMaxFrame);
      if (n <= 0) continue;
      const last = n === body.length;
      this.queue(frame(FrameType.DATA, last ? Flag.END_STREAM : 0, s.id, body.subarray(0, n)));
      this.sendWindow -= n;
      s.sendWindow -= n;
      if (last) {
        s.body = null;
        this.blocked.delete(s);
      } else s.body = body.subarray(n);
    }
  }

  private endIfClosing(): void {
    if (!this.closing || this.destroyed || this.streams.size > 0) return;
    this.queue(frame(FrameType.GOAWAY, 0, 0, u32(0, ErrorCode.NO_ERROR)));
    this.flush();
    // Servers need not close on a client's FIN: once the GOAWAY is written, the socket goes.
    this.socket.end(() => this.socket.destroy());
  }

  // ---- reading

  private read(chunk: Buffer): void {
    if (this.destroyed) return;
    const buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    let pos = 0;
    try {
      while (buf.length - pos >= FRAME_HEADER) {
        const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
        if (length > DEFAULT_MAX_FRAME_SIZE) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${length}-byte frame`);
        if (buf.length - pos < FRAME_HEADER + length) break;
        const type = buf[pos + 3]!;
        const flags = buf[pos + 4]!;
        const id = buf.readUInt32BE(pos + 5) & MAX_STREAM_ID;
        const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + length);
        pos += FRAME_HEADER + length;
        this.frame(type, flags, id, payload);
        if (this.destroyed) return;
      }
    } catch (err) {
      this.fail(err instanceof ConnectionError ? err : new ConnectionError(ErrorCode.INTERNAL_ERROR, err instanceof Error ? err.message : String(err)));
      return;
    }
    // A copy: a subarray would keep the whole chunk alive for a few bytes.
    this.partial = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
  }

  private fail(err: ConnectionError): void {
    if (this.destroyed) return;
    // Last peer-initiated stream: 0, the server never opens one here (no push).
    this.error = err;
    this.queue(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0, err.h2code), Buffer.from(err.message)])));
    this.events.onError(err);
    this.destroy(err);
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (!this.sawSettings && type !== FrameType.SETTINGS) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the server preface must be SETTINGS');
    if (this.continuation && type !== FrameType.CONTINUATION) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    switch (type) {
      case FrameType.DATA:
        return this.onDataFrame(flags, id, payload);
      case FrameType.HEADERS:
        return this.onHeadersFrame(flags, id, payload);
      case FrameType.CONTINUATION: {
        const c = this.continuation;
        if (!c || c.id !== id) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
        c.chunks.push(payload);
        c.bytes += payload.length;
        if (c.bytes > MAX_HEADER_LIST) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'header block too large');
        if (flags & Flag.END_HEADERS) {
          this.continuation = null;
          this.onHeaderBlock(id, Buffer.concat(c.chunks), c.endStream);
        }
        return;
      }
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) this.streamError(id, ErrorCode.FRAME_SIZE_ERROR);
        return;
      case FrameType.RST_STREAM: {
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM length');
        this.checkOpened(id);
        const s = this.streams.get(id);
        if (!s) return;
        const code = payload.readUInt32BE(0);
        this.forget(s);
        s.handler.onAbort(code === ErrorCode.REFUSED_STREAM ? { kind: 'refused', goaway: false } : { kind: 'reset', code });
        this.endIfClosing();
        return;
      }
      case FrameType.SETTINGS:
        return this.onSettingsFrame(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      case FrameType.PING:
        if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING length');
        if (flags & Flag.ACK) this.pings.shift()?.();
        else this.queue(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        return this.onGoawayFrame(id, payload);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
        return;
    }
  }

  private onSettingsFrame(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length');
    for (let i = 0; i < payload.length; i += 6) {
      const key = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (key === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = value;
      else if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window too large');
        }
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = value;
      } else if (key === Setting.ENABLE_PUSH && value > 1) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH out of range');
      }
      // HEADER_TABLE_SIZE: our blocks never index, so the peer's table size does not concern them.
    }
    this.queue(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.sawSettings = true;
    this.sendBlocked();
    this.events.onSettings(this.peerMaxStreams);
  }

  private onGoawayFrame(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY length');
    const last = payload.readUInt32BE(0) & MAX_STREAM_ID;
    const code = payload.readUInt32BE(4);
    this.closing = true;
    const refused = [...this.streams.values()].filter((s) => s.id > last);
    for (const s of refused) this.forget(s);
    this.events.onGoaway(code, last, Buffer.from(payload.subarray(8)));
    for (const s of refused) s.handler.onAbort({ kind: 'refused', goaway: true });
    this.endIfClosing();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const increment = payload.readUInt32BE(0) & MAX_WINDOW;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window too large');
    } else {
      this.checkOpened(id);
      const s = this.streams.get(id);
      if (!s) return;
      if (increment === 0) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
      s.sendWindow += increment;
      if (s.sendWindow > MAX_WINDOW) return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
    }
    this.sendBlocked();
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    this.checkOpened(id);
    // Every DATA byte counts against the connection's window, padding and dead streams included.
    this.recvUsed += payload.length;
    if (this.recvUsed > DEFAULT_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    if (this.recvUsed >= WINDOW_REFILL) {
      this.queue(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(this.recvUsed)));
      this.recvUsed = 0;
    }
    const data = unpad(flags, payload);
    const s = this.streams.get(id);
    if (!s) return;
    if (!s.gotResponse) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
    s.recvWindow -= payload.length;
    if (s.recvWindow < 0) return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
    if (data.length > 0) s.handler.onData(data);
    if (flags & Flag.END_STREAM) return this.endStream(s);
    if (this.streams.has(id) && DEFAULT_WINDOW - s.recvWindow >= WINDOW_REFILL) {
      this.queue(frame(FrameType.WINDOW_UPDATE, 0, id, u32(DEFAULT_WINDOW - s.recvWindow)));
      s.recvWindow = DEFAULT_WINDOW;
    }
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let fragment = unpad(flags, payload);
    if (flags & Flag.PRIORITY) {
      if (fragment.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority fields');
      fragment = fragment.subarray(5);
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) this.onHeaderBlock(id, fragment, endStream);
    else this.continuation = { id, chunks: [fragment], bytes: fragment.length, endStream };
  }

  private onHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    let headers: HeaderList;
    try {
      // Decoded whatever the stream's state: the peer's table changes with every block.
      headers = this.hpack.decode(block, MAX_HEADER_LIST);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      throw err;
    }
    this.checkOpened(id);
    const s = this.streams.get(id);
    if (!s) return;
    if (!s.gotResponse) {
      const status = statusOf(headers);
      if (status === null) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
      if (status < 200) {
        if (endStream) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
        return; // informational: the final response follows
      }
      s.gotResponse = true;
      s.handler.onResponse(status, headers);
      if (!this.streams.has(id)) return;
    } else if (!endStream) {
      // Trailers must end the stream.
      return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
    }
    if (endStream) this.endStream(s);
  }

  /** Frames for a stream we never opened: the server cannot open any (no push). */
  private checkOpened(id: number): void {
    if (id % 2 === 0 || id >= this.nextId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `frame for stream ${id}, never opened`);
  }

  private endStream(s: Stream): void {
    this.forget(s);
    // The answer came before our body was all sent: the rest is not wanted (RFC 9113 §8.1).
    if (s.body) this.queue(frame(FrameType.RST_STREAM, 0, s.id, u32(ErrorCode.NO_ERROR)));
    s.handler.onEnd();
    this.endIfClosing();
  }

  private streamError(id: number, code: number): void {
    const s = this.streams.get(id);
    this.queue(frame(FrameType.RST_STREAM, 0, id, u32(code)));
    if (!s) return;
    this.forget(s);
    s.handler.onAbort({ kind: 'reset', code });
    this.endIfClosing();
  }

  private forget(s: Stream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
  }
}

function unpad(flags: number, payload: Buffer): Buffer {
  if (!(flags & Flag.PADDED)) return payload;
  if (payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without a pad length');
  const pad = payload[0]!;
  if (pad >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}

function statusOf(headers: HeaderList): number | null {
  const first = headers[0];
  // Pseudo-headers come first; a response has exactly :status.
  if (!first || first[0] !== ':status' || !/^[1-5]\d\d$/.test(first[1])) return null;
  return Number(first[1]);
}
