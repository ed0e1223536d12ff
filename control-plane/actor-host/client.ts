import type { ActorMessage } from '../../actors/actor';
import type { Bus } from '../ports/bus';
import { injectHeaders, inSpan, SpanKind } from '../observability/tracing';
import { assertIdToken, encodeJson, PROTOCOL_VERSION, readReply } from './protocol';

export const DEFAULT_ASK_TIMEOUT_MS = 10_000;

/** Sends commands to actors over the Bus and rebuilds their typed errors. */
export class ActorClient {
  constructor(
    private readonly bus: Bus,
    private readonly prefix = 'tg',
  ) {}

  subjectOf(kind: string, id: string): string {
    assertIdToken(id);
    return `${this.prefix}.${kind}.${id}.cmd`;
  }

  async ask<R = unknown>(kind: string, id: string, message: ActorMessage & Record<string, unknown>, timeoutMs = DEFAULT_ASK_TIMEOUT_MS): Promise<R> {
    const subject = this.subjectOf(kind, id);
    // The span's context travels in the message headers (W3C traceparent): the actor's span continues this trace.
    return inSpan(
      `request ${this.prefix}.${kind}.{id}.cmd`,
      { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': subject, 'tollgate.command': message.type } },
      async () => {
        const headers = injectHeaders();
        const reply = await this.bus.request(subject, encodeJson({ v: PROTOCOL_VERSION, ...message }), { timeoutMs, ...(Object.keys(headers).length ? { headers } : {}) });
        return readReply(reply.data) as R;
      },
    );
  }
}
