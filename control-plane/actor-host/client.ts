import type { ActorMessage } from '../../actors/actor';
import type { Bus } from '../ports/bus';
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
    const reply = await this.bus.request(this.subjectOf(kind, id), encodeJson({ v: PROTOCOL_VERSION, ...message }), { timeoutMs });
    return readReply(reply.data) as R;
  }
}
