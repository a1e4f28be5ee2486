import fs from 'node:fs';
import client from 'prom-client';

export interface MetricsSources {
  /** The SQLite file: its size (with the WAL) is reported at each scrape. */
  dbFile: string;
  /** Counts read at each scrape, for the fleet gauges. */
  devicesByState?: () => Array<{ platform: string; status: string; n: number }>;
  /** Seconds until the active push certificate expires (negative once expired), or null without one. */
  pushCertificateSecondsLeft?: () => number | null;
}

/**
 * The appliance's Prometheus metrics (prom-client), one registry per appliance rather than
 * prom-client's global one: tests run several appliances in one process. Services report through
 * the small functions returned here; the fleet gauges are read at scrape time.
 */
export function createMetrics(sources: MetricsSources) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ app: 'mdm' });
  client.collectDefaultMetrics({ register: registry, prefix: 'mdm_' });

  const httpRequests = new client.Counter({
    name: 'mdm_http_requests_total',
    help: 'HTTP requests by route (the matched pattern), method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const httpSeconds = new client.Histogram({
    name: 'mdm_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const checkins = new client.Counter({
    name: 'mdm_apple_checkins_total',
    help: 'Apple check-in messages by MessageType',
    labelNames: ['message_type'],
    registers: [registry],
  });
  const commandReports = new client.Counter({
    name: 'mdm_apple_command_reports_total',
    help: "Apple devices' answers on the command channel by Status (Idle, Acknowledged, Error, CommandFormatError, NotNow)",
    labelNames: ['status'],
    registers: [registry],
  });
  const commandsQueued = new client.Counter({
    name: 'mdm_apple_commands_queued_total',
    help: 'Apple commands queued, counted per target channel',
    registers: [registry],
  });
  const pushes = new client.Counter({
    name: 'mdm_apns_pushes_total',
    help: "APNs pushes by result: ok, or APNs's (or the client's) reason",
    labelNames: ['result'],
    registers: [registry],
  });
  const scep = new client.Counter({
    name: 'mdm_scep_operations_total',
    help: 'SCEP PKIOperations by message type and outcome (issued, renewed, sent, pending, failure, malformed)',
    labelNames: ['message_type', 'outcome'],
    registers: [registry],
  });
  const android = new client.Counter({
    name: 'mdm_android_api_calls_total',
    help: 'Android Management API calls by operation and result (ok, or Google status)',
    labelNames: ['operation', 'result'],
    registers: [registry],
  });
  new client.Gauge({
    name: 'mdm_database_bytes',
    help: 'Size of the SQLite database file and its WAL',
    registers: [registry],
    collect() {
      let bytes = 0;
      for (const f of [sources.dbFile, `${sources.dbFile}-wal`]) {
        try {
          bytes += fs.statSync(f).size;
        } catch {
          // No WAL at this moment.
        }
      }
      this.set(bytes);
    },
  });
  if (sources.devicesByState) {
    const read = sources.devicesByState;
    new client.Gauge({
      name: 'mdm_devices',
      help: 'Devices by platform and enrollment status',
      labelNames: ['platform', 'status'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of read()) this.set({ platform: r.platform, status: r.status }, r.n);
      },
    });
  }
  if (sources.pushCertificateSecondsLeft) {
    const read = sources.pushCertificateSecondsLeft;
    new client.Gauge({
      name: 'mdm_push_certificate_expiry_seconds',
      help: 'Seconds until the Apple push certificate expires (absent without one)',
      registers: [registry],
      collect() {
        this.reset();
        const left = read();
        if (left !== null) this.set(left);
      },
    });
  }

  return {
    contentType: registry.contentType,
    text: () => registry.metrics(),
    http(route: string, method: string, status: number, seconds: number) {
      httpRequests.inc({ route, method, status: String(status) });
      httpSeconds.observe({ route }, seconds);
    },
    checkin: (messageType: string) => checkins.inc({ message_type: messageType }),
    commandReport: (status: string) => commandReports.inc({ status }),
    commandsQueued: (n: number) => commandsQueued.inc(n),
    push: (result: string) => pushes.inc({ result }),
    scep: (messageType: string, outcome: string) => scep.inc({ message_type: messageType, outcome }),
    android: (operation: string, result: string) => android.inc({ operation, result }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
