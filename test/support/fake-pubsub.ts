import crypto from 'node:crypto';

/**
 * One Pub/Sub subscription as the fake AMAPI publishes device notifications to it: messages wait
 * until pulled, a pulled message is outstanding until acknowledged and is delivered again once
 * its ack deadline passes. Hooks drop, duplicate and hold back (then release in reverse order)
 * what is published, as an at-least-once, unordered Pub/Sub may.
 */
export interface PubsubMessage {
  data: string;
  attributes: Record<string, string>;
  messageId: string;
  publishTime: string;
}

export interface FakeSubscription {
  name: string;
  ackDeadlineMs: number;
  /** The next `n` notifications published are lost. */
  dropNext(n: number): void;
  /** The next `n` notifications published are delivered twice. */
  duplicateNext(n: number): void;
  /** Holds back what is published until release(). */
  hold(): void;
  /** Makes the held notifications deliverable, newest first by default (reordered). */
  release(order?: 'reverse' | 'same'): void;
  /** Every notification published (dropped ones too), in order. */
  published: Array<PubsubMessage & { dropped: boolean }>;
  /** Message ids acknowledged, in order. */
  acked: string[];
  /** Messages waiting to be pulled, and pulled but not acknowledged. */
  backlog(): { queued: number; outstanding: number };
}

export function createSubscription(name: string) {
  const queue: PubsubMessage[] = [];
  const outstanding = new Map<string, { m: PubsubMessage; deadline: number }>();
  const waiters = new Set<() => void>();
  let drop = 0;
  let duplicate = 0;
  let held: PubsubMessage[] | null = null;
  const wake = () => {
    for (const w of waiters) w();
    waiters.clear();
  };

  const sub: FakeSubscription & {
    publish(type: string, body: unknown, attributes?: Record<string, string>): void;
    pull(max: number, waitMs: number): Promise<Array<{ ackId: string; message: PubsubMessage }>>;
    acknowledge(ackIds: string[]): void;
    close(): void;
  } = {
    name,
    ackDeadlineMs: 10_000,
    published: [],
    acked: [],
    dropNext(n) {
      drop += n;
    },
    duplicateNext(n) {
      duplicate += n;
    },
    hold() {
      held ??= [];
    },
    release(order = 'reverse') {
      const h = held ?? [];
      held = null;
      queue.push(...(order === 'reverse' ? h.reverse() : h));
      wake();
    },
    backlog: () => ({ queued: queue.length + (held?.length ?? 0), outstanding: outstanding.size }),

    publish(type, body, attributes = {}) {
      const m: PubsubMessage = {
        data: Buffer.from(JSON.stringify(body)).toString('base64'),
        attributes: { notificationType: type, ...attributes },
        messageId: String(crypto.randomInt(1e12, 1e13)),
        publishTime: new Date().toISOString(),
      };
      const dropped = drop > 0;
      sub.published.push({ ...m, dropped });
      if (dropped) {
        drop--;
        return;
      }
      const copies = duplicate > 0 ? 2 : 1;
      if (duplicate > 0) duplicate--;
      for (let i = 0; i < copies; i++) (held ?? queue).push(m);
      wake();
    },

    /** Redelivers what passed its deadline, then what waits; an empty pull waits up to `waitMs` for something, as Google's does. */
    async pull(max, waitMs) {
      const take = () => {
        const out: Array<{ ackId: string; message: PubsubMessage }> = [];
        const now = Date.now();
        for (const [ackId, o] of outstanding) {
          if (out.length >= max) break;
          if (o.deadline <= now) {
            outstanding.delete(ackId);
            queue.unshift(o.m);
          }
        }
        while (out.length < max && queue.length) {
          const m = queue.shift()!;
          const ackId = crypto.randomBytes(16).toString('base64url');
          outstanding.set(ackId, { m, deadline: now + sub.ackDeadlineMs });
          out.push({ ackId, message: m });
        }
        return out;
      };
      let out = take();
      if (out.length || waitMs <= 0) return out;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        waiters.add(() => (clearTimeout(t), resolve()));
      });
      out = take();
      return out;
    },

    close() {
      wake();
    },

    acknowledge(ackIds) {
      for (const id of ackIds) {
        const o = outstanding.get(id);
        if (!o) continue;
        outstanding.delete(id);
        sub.acked.push(o.m.messageId);
      }
    },
  };
  return sub;
}

export type Subscription = ReturnType<typeof createSubscription>;
