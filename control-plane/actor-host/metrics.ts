import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HostMetrics } from './host';

/** Actor-host metrics on the process registry: processed, crashes, dead letters, residents. */
export function hostMetrics(registry: Registry, resident: () => number, mailboxes?: () => { queued: number; deepest: number }): HostMetrics {
  const processed = new Histogram({
    name: 'tollgate_actor_message_duration_seconds',
    help: 'Time to process one actor message, persist included',
    labelNames: ['kind'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const crashes = new Counter({ name: 'tollgate_actor_crashes_total', help: 'Behaviour crashes (each restarts the actor)', labelNames: ['kind'] as const, registers: [registry] });
  const dead = new Counter({ name: 'tollgate_actor_dead_letters_total', help: 'Messages dead-lettered after repeated crashes', labelNames: ['kind'] as const, registers: [registry] });
  new Gauge({
    name: 'tollgate_actors_resident',
    help: 'Actors currently in memory',
    registers: [registry],
    collect() {
      this.set(resident());
    },
  });
  if (mailboxes) {
    new Gauge({
      name: 'tollgate_actor_mailbox_messages',
      help: 'Messages waiting in actor mailboxes on this node',
      registers: [registry],
      collect() {
        this.set(mailboxes().queued);
      },
    });
    new Gauge({
      name: 'tollgate_actor_mailbox_max_depth',
      help: 'Depth of the deepest actor mailbox on this node',
      registers: [registry],
      collect() {
        this.set(mailboxes().deepest);
      },
    });
  }
  return {
    processed: (kind, ms) => processed.observe({ kind }, ms / 1000),
    crashed: (kind) => crashes.inc({ kind }),
    deadLettered: (kind) => dead.inc({ kind }),
  };
}
