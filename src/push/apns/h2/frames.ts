/** HTTP/2 frame types, flags, settings and error codes (RFC 9113 §6, §7) that a client uses. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER = 9;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fffffff;

export function writeFrameHeader(buf: Buffer, pos: number, length: number, type: number, flags: number, streamId: number): number {
  buf[pos] = length >>> 16;
  buf[pos + 1] = (length >>> 8) & 0xff;
  buf[pos + 2] = length & 0xff;
  buf[pos + 3] = type;
  buf[pos + 4] = flags;
  buf.writeUInt32BE(streamId, pos + 5);
  return pos + FRAME_HEADER;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  writeFrameHeader(buf, 0, payload.length, type, flags, streamId);
  payload.copy(buf, FRAME_HEADER);
  return buf;
}

export function u32(...values: number[]): Buffer {
  const buf = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => buf.writeUInt32BE(v >>> 0, i * 4));
  return buf;
}

/** A protocol violation by the peer: the connection ends with a GOAWAY carrying `code`. */
export class ConnectionError extends Error {
  readonly code = 'ERR_HTTP2_PROTOCOL_VIOLATION';
  constructor(
    readonly h2code: number,
    message: string,
  ) {
    super(message);
  }
}
