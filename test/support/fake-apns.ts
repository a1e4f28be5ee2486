import crypto from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { derSequence, tlv } from '../../src/pki/der.ts';
import {
  OID,
  authorityKeyId,
  basicConstraints,
  buildCertificate,
  extension,
  extKeyUsage,
  keyIdentifier,
  keyUsage,
  makeName,
  randomSerial,
  subjectKeyId,
  toPem,
} from '../../src/pki/x509.ts';
import { UID_OID, readPushCertificate } from '../../src/push/pem.ts';
import type { ApnsIdentity } from '../../src/push/apns/types.ts';
import { writePushCertificate } from './push-cert.ts';

/**
 * A stand-in for APNs's provider API (certificate authentication) on 127.0.0.1, as strict as
 * Apple's documented contract: TLS with a client certificate it trusts, the topic from that
 * certificate's UID, POST /3/device/<hex token>, the apns-* headers and an MDM payload. It
 * answers 200 with an apns-id, or the status and {"reason"} Apple documents for what is wrong.
 */

export interface FakeApnsOptions {
  /** The CA certificates (PEM) whose push certificates APNs accepts: a FakeAppleCa's. */
  trust: string[];
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced on every connection. */
  maxConcurrentStreams?: number;
  /** Every answer waits this long (ms), so that requests overlap. */
  delayMs?: number;
  /** Sends one GOAWAY (NO_ERROR, "Shutdown") when the n-th valid push arrives, naming its stream as the last processed. */
  goawayAfter?: number;
}

/** What to do with a token's pushes, after the request itself passed every check. */
export interface TokenRule {
  /** Answer with this status and {"reason"} instead of 200. */
  status?: number;
  reason?: string;
  /** Destroy the connection's socket instead of answering. */
  drop?: boolean;
  /** Answer only once this settles. */
  hold?: Promise<void>;
  delayMs?: number;
  /** The rule applies this many times, then the token is served normally. Default: always. */
  times?: number;
}

export interface RecordedPush {
  token: string;
  topic: string;
  magic: string;
  headers: Record<string, string>;
  apnsId: string;
  at: number;
  connection: number;
  streamId: number;
  /** SHA-256 fingerprint of the client certificate the push came with. */
  certFingerprint: string;
}

export interface FakeConnection {
  id: number;
  certFingerprint: string;
  topic: string | undefined;
  /** The most streams open at once on this connection. */
  maxConcurrent: number;
  closed: Promise<void>;
  isClosed: boolean;
}

export interface FakeApns {
  url: string;
  /** The server certificate: the client's trust root. */
  caPem: string;
  /** Every push answered 200, in order. */
  pushes: RecordedPush[];
  connections: FakeConnection[];
  /** The most streams open at once over all connections. */
  maxConcurrent(): number;
  /** Valid requests seen per token, answered or not (failures, drops and holds included). */
  requests(token: string): number;
  rule(token: string, rule: TokenRule): void;
  /** Resolves when a valid request for `token` has arrived (at once if one has). */
  requestSeen(token: string): Promise<void>;
  close(): Promise<void>;
}

interface Connection extends FakeConnection {
  topicValid: boolean;
  open: number;
  port: number;
  goneAway: boolean;
  markClosed(): void;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TOPIC = /^[A-Za-z0-9.\-_]+$/;
const HEX = /^[0-9a-fA-F]+$/;
const DIGITS = /^\d+$/;
const DEVICE_PATH = '/3/device/';
const MAX_PAYLOAD = 4096;
const EMPTY = Buffer.alloc(0);
const ignore = () => {};

// apns-ids unique per process without a random UUID each: a random prefix and a counter.
const idPrefix = crypto.randomUUID().toUpperCase().slice(0, 24);
let idSeq = 0;
const newApnsId = () => idPrefix + (++idSeq).toString(16).toUpperCase().padStart(12, '0');

/** A push as recorded: its headers are copied out only when a test looks at them. */
class Recorded implements RecordedPush {
  constructor(
    readonly token: string,
    readonly topic: string,
    readonly magic: string,
    private readonly raw: IncomingHttpHeaders,
    readonly apnsId: string,
    readonly at: number,
    readonly connection: number,
    readonly streamId: number,
    readonly certFingerprint: string,
  ) {}

  get headers(): Record<string, string> {
    const recorded: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.raw)) if (!k.startsWith(':') && v !== undefined) recorded[k] = String(v);
    return recorded;
  }
}

let serverCert: { certPem: string; keyPem: string } | undefined;

/** A self-signed TLS certificate for 127.0.0.1 and localhost, made once per process. */
function serverCertificate(): { certPem: string; keyPem: string } {
  if (serverCert) return serverCert;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name = makeName([[OID.commonName, 'fake api.push.apple.com']]);
  const san = derSequence(tlv(0x87, Buffer.of(127, 0, 0, 1)), tlv(0x82, Buffer.from('localhost', 'ascii')));
  const der = buildCertificate({
    serial: randomSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [extension(OID.subjectAltName, false, san), extension(OID.extKeyUsage, false, extKeyUsage(OID.serverAuth))],
    signingKey: privateKey,
  });
  serverCert = { certPem: toPem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  return serverCert;
}

/** A self-signed stand-in for an Apple MDM push certificate (test/support/push-cert.ts), read back as the client takes it. */
export function selfSignedPushIdentity(dir: string, topic?: string): ApnsIdentity {
  const files = writePushCertificate(dir, topic);
  return { certPem: fs.readFileSync(files.cert, 'utf8'), keyPem: fs.readFileSync(files.key, 'utf8'), topic: files.topic };
}

export interface FakeAppleCa {
  certPem: string;
  /** A push certificate (UID = topic) and its key, issued by this CA, as Apple issues them: a renewal keeps the topic. */
  issue(topic?: string): ApnsIdentity;
}

/**
 * Apple's push certificate authority, played by a test CA. Renewed certificates share their
 * subject, so self-signed ones cannot all be trust anchors at once; issued ones can.
 */
export function createFakeAppleCa(): FakeAppleCa {
  const ca = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const caSpki = ca.publicKey.export({ type: 'spki', format: 'der' });
  const caName = makeName([
    [OID.commonName, 'Fake Apple Application Integration 2 Certification Authority'],
    [OID.organization, 'Fake Apple Inc.'],
  ]);
  const caDer = buildCertificate({
    serial: randomSerial(),
    subject: caName,
    issuer: caName,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 30 * 86_400_000),
    spki: caSpki,
    extensions: [
      extension(OID.basicConstraints, true, basicConstraints(true)),
      extension(OID.keyUsage, true, keyUsage({ keyCertSign: true, cRLSign: true })),
      extension(OID.subjectKeyId, false, subjectKeyId(keyIdentifier(caSpki))),
    ],
    signingKey: ca.privateKey,
  });
  return {
    certPem: toPem('CERTIFICATE', caDer),
    issue(topic = `com.apple.mgmt.External.${crypto.randomUUID()}`) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const der = buildCertificate({
        serial: randomSerial(),
        subject: makeName([
          [UID_OID, topic],
          [OID.commonName, `APSP:${topic.split('.').pop()}`],
        ]),
        issuer: caName,
        notBefore: new Date(Date.now() - 3_600_000),
        notAfter: new Date(Date.now() + 30 * 86_400_000),
        spki,
        extensions: [
          extension(OID.basicConstraints, true, basicConstraints(false)),
          extension(OID.keyUsage, true, keyUsage({ digitalSignature: true })),
          extension(OID.extKeyUsage, false, extKeyUsage(OID.clientAuth)),
          extension(OID.authorityKeyId, false, authorityKeyId(keyIdentifier(caSpki))),
        ],
        signingKey: ca.privateKey,
      });
      return { certPem: toPem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, topic };
    },
  };
}

export async function startFakeApns(opts: FakeApnsOptions): Promise<FakeApns> {
  const tlsCert = serverCertificate();
  const server = http2.createSecureServer({
    cert: tlsCert.certPem,
    key: tlsCert.keyPem,
    ca: opts.trust,
    requestCert: true,
    rejectUnauthorized: true,
    ...(opts.maxConcurrentStreams !== undefined ? { settings: { maxConcurrentStreams: opts.maxConcurrentStreams } } : {}),
  });
  const pushes: RecordedPush[] = [];
  const connections: Connection[] = [];
  const sessions = new Map<ServerHttp2Session, Connection>();
  const rules = new Map<string, TokenRule & { used: number }>();
  const requestCounts = new Map<string, number>();
  const events = new EventEmitter();
  let open = 0;
  let maxOpen = 0;
  let validPushes = 0;
  let goawaySent = false;
  // requestSeen() calls waiting: without any, no event name is built per request.
  let watched = 0;

  // The raw sockets, by client port: the session's socket is a proxy that refuses destroy().
  const rawSockets = new Map<number, TLSSocket>();
  // Every TCP connection, handshake done or not: close() must not wait on one a session never covered.
  const tcpSockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    tcpSockets.add(socket);
    socket.once('close', () => tcpSockets.delete(socket));
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const port = socket.remotePort!;
    rawSockets.set(port, socket);
    socket.once('close', () => {
      rawSockets.delete(port);
      // Node's session does not always emit 'close' when its socket goes: the socket decides.
      for (const c of connections) if (c.port === port && !c.isClosed) c.markClosed();
    });
  });

  server.on('session', (session) => {
    const socket = session.socket as TLSSocket;
    const cert = socket.getPeerX509Certificate();
    let topic: string | undefined;
    try {
      topic = cert ? readPushCertificate(cert.toString()).topic : undefined;
    } catch {
      topic = undefined; // a trusted certificate without an MDM topic may connect but push to nothing
    }
    let resolveClosed!: () => void;
    const conn: Connection = {
      port: socket.remotePort!,
      markClosed: () => {
        conn.isClosed = true;
        sessions.delete(session);
        resolveClosed();
      },
      id: connections.length + 1,
      certFingerprint: cert?.fingerprint256 ?? '',
      topic,
      topicValid: topic !== undefined && TOPIC.test(topic),
      maxConcurrent: 0,
      open: 0,
      goneAway: false,
      isClosed: false,
      closed: new Promise<void>((resolve) => (resolveClosed = resolve)),
    };
    connections.push(conn);
    sessions.set(session, conn);
    session.on('error', () => {});
    session.on('close', () => conn.markClosed());
  });

  server.on('stream', (stream, headers) => {
    const conn = sessions.get(stream.session as ServerHttp2Session);
    if (!conn) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    conn.open++;
    open++;
    if (conn.open > conn.maxConcurrent) conn.maxConcurrent = conn.open;
    if (open > maxOpen) maxOpen = open;
    stream.on('close', () => {
      conn.open--;
      open--;
      // As APNs does, a connection that sent GOAWAY ends once its last stream is answered.
      if (conn.goneAway && conn.open === 0) rawSockets.get(conn.port)?.destroy();
    });
    stream.on('error', ignore);
    // A payload nearly always comes in one DATA frame: no array or concatenation for it.
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    stream.on('data', (c: Buffer) => {
      if (size <= MAX_PAYLOAD) {
        if (first === undefined) first = c;
        else (more ??= [first]).push(c);
      }
      size += c.length;
    });
    stream.on('end', () => {
      const body = more ? Buffer.concat(more) : (first ?? EMPTY);
      try {
        answer(stream, headers, body, size, conn);
      } catch {
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
  });

  function reply(stream: ServerHttp2Stream, status: number, reason: string, extra: Record<string, unknown> = {}): void {
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ':status': status, 'apns-id': newApnsId(), 'content-type': 'application/json' });
    stream.end(JSON.stringify({ reason, ...extra }));
  }

  /** Apple's checks of one request; the status and reason when it fails one. */
  function check(headers: IncomingHttpHeaders, body: Buffer, size: number, conn: Connection): [number, string] | { token: string; magic: string } {
    if (headers[':method'] !== 'POST') return [405, 'MethodNotAllowed'];
    const path = headers[':path'];
    if (typeof path !== 'string' || !path.startsWith(DEVICE_PATH)) return [404, 'BadPath'];
    const token = path.slice(DEVICE_PATH.length);
    if (token === '') return [400, 'MissingDeviceToken'];
    if (!HEX.test(token)) return [400, 'BadDeviceToken'];
    const topic = headers['apns-topic'];
    // The connection's own topic was validated once, when it connected.
    if (topic !== conn.topic || !conn.topicValid) {
      // Apple would fall back to the certificate's topic; the fake insists, since the client must name it.
      if (topic === undefined || topic === '') return [400, 'MissingTopic'];
      if (typeof topic !== 'string' || !TOPIC.test(topic)) return [400, 'BadTopic'];
      if (topic !== conn.topic) return [400, 'TopicDisallowed'];
    }
    if (headers['apns-push-type'] !== 'mdm') return [400, 'InvalidPushType'];
    const priority = headers['apns-priority'];
    if (priority !== undefined && priority !== '10' && priority !== '5') return [400, 'BadPriority'];
    const expiration = headers['apns-expiration'];
    if (expiration !== undefined && !DIGITS.test(String(expiration))) return [400, 'BadExpirationDate'];
    const id = headers['apns-id'];
    if (id !== undefined && !UUID.test(String(id))) return [400, 'BadMessageId'];
    if (size > MAX_PAYLOAD) return [413, 'PayloadTooLarge'];
    if (size === 0) return [400, 'PayloadEmpty'];
    // Apple documents no reason for a payload that is not an MDM push; PayloadEmpty is the nearest one.
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return [400, 'PayloadEmpty'];
    }
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return [400, 'PayloadEmpty'];
    let keys = 0;
    for (const _ in payload) keys++;
    const magic = (payload as Record<string, unknown>).mdm;
    if (keys !== 1 || typeof magic !== 'string' || magic === '') return [400, 'PayloadEmpty'];
    return { token, magic };
  }

  // Synchronous unless a rule or option makes the answer wait: a promise per push is measurable at 100,000 of them.
  function answer(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer, size: number, conn: Connection): void {
    const checked = check(headers, body, size, conn);
    if (Array.isArray(checked)) {
      reply(stream, checked[0], checked[1]);
      return;
    }
    const { token, magic } = checked;
    requestCounts.set(token, (requestCounts.get(token) ?? 0) + 1);
    if (watched > 0) events.emit(`request:${token}`);
    validPushes++;
    if (opts.goawayAfter !== undefined && !goawaySent && validPushes >= opts.goawayAfter) {
      goawaySent = true;
      conn.goneAway = true;
      (stream.session as ServerHttp2Session).goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id, Buffer.from(JSON.stringify({ reason: 'Shutdown' })));
    }
    const rule = rules.size > 0 ? rules.get(token) : undefined;
    const active = rule && (rule.times === undefined || rule.used < rule.times) ? rule : undefined;
    if (active) active.used++;
    const delay = active?.delayMs ?? opts.delayMs ?? 0;
    if (delay > 0 || active?.hold || active?.drop || active?.status !== undefined) {
      void answerLater(stream, headers, token, magic, conn, active, delay).catch(() => {
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      return;
    }
    accept(stream, headers, token, magic, conn);
  }

  async function answerLater(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    token: string,
    magic: string,
    conn: Connection,
    active: TokenRule | undefined,
    delay: number,
  ): Promise<void> {
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (active?.hold) await active.hold;
    if (active?.drop) {
      rawSockets.get(conn.port)?.destroy();
      return;
    }
    if (active?.status !== undefined) {
      reply(stream, active.status, active.reason ?? 'InternalServerError', active.status === 410 ? { timestamp: Date.now() } : {});
      return;
    }
    accept(stream, headers, token, magic, conn);
  }

  function accept(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, token: string, magic: string, conn: Connection): void {
    if (stream.destroyed || stream.closed) return; // refused by a GOAWAY or reset by the client: not processed
    const requestId = headers['apns-id'];
    const apnsId = typeof requestId === 'string' ? requestId : newApnsId();
    // As APNs answers a 200: HEADERS ending the stream, no DATA frame.
    stream.respond({ ':status': 200, 'apns-id': apnsId }, { endStream: true });
    pushes.push(new Recorded(token, String(headers['apns-topic']), magic, headers, apnsId, Date.now(), conn.id, stream.id ?? 0, conn.certFingerprint));
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    caPem: tlsCert.certPem,
    pushes,
    connections,
    maxConcurrent: () => maxOpen,
    requests: (token) => requestCounts.get(token) ?? 0,
    rule(token, rule) {
      rules.set(token, { ...rule, used: 0 });
    },
    async requestSeen(token) {
      if ((requestCounts.get(token) ?? 0) > 0) return;
      watched++;
      try {
        await once(events, `request:${token}`);
      } finally {
        watched--;
      }
    },
    async close() {
      for (const s of sessions.keys()) s.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of tcpSockets) s.destroy();
      await closed;
    },
  };
}
