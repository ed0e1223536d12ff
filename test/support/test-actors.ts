import { z } from 'zod';
import type { Behaviour, Effect } from '../../actors/actor';
import { BadRequestError } from '../../actors/errors';

/** State of the test actor: enough to prove order, exactly-once and restarts. */
export interface SeqState {
  count: number;
  last: number;
  outOfOrder: number;
  keys: string[];
  reminders: string[];
}

const Message = z.discriminatedUnion('type', [
  z.strictObject({ v: z.literal(1).optional(), type: z.literal('seq'), n: z.number().int(), key: z.string().optional() }),
  z.strictObject({ v: z.literal(1).optional(), type: z.literal('boom'), key: z.string() }),
  z.strictObject({ v: z.literal(1).optional(), type: z.literal('remind'), at: z.string(), note: z.string() }),
  z.strictObject({ v: z.literal(1).optional(), type: z.literal('reminded'), note: z.string() }),
  z.strictObject({ v: z.literal(1).optional(), type: z.literal('call'), port: z.string(), op: z.string() }),
  z.strictObject({ v: z.literal(1).optional(), type: z.literal('get') }),
]);
type Message = z.infer<typeof Message>;

/**
 * A behaviour for host tests. `crashes(key)` says whether the next attempt of
 * a `boom` message should throw: the test's stand-in for a buggy behaviour.
 */
export function sequenceBehaviour(kind = 'seq', crashes: (key: string) => boolean = () => false): Behaviour<SeqState, Message> {
  return {
    kind,
    initial: () => ({ count: 0, last: -1, outOfOrder: 0, keys: [], reminders: [] }),
    parse(raw) {
      const r = Message.safeParse(raw);
      if (!r.success) {
        const type = (raw as { type?: unknown })?.type;
        throw new BadRequestError(r.error.issues.some((i) => i.path[0] === 'type') ? `unknown message type ${JSON.stringify(type)}` : `invalid message: ${r.error.issues[0]?.message}`);
      }
      return r.data;
    },
    step(state, msg, ctx) {
      switch (msg.type) {
        case 'seq': {
          if (msg.key && state.keys.includes(msg.key)) return { state, reply: { duplicate: true, count: state.count } };
          const next = {
            ...state,
            count: state.count + 1,
            last: msg.n,
            outOfOrder: state.outOfOrder + (msg.n === state.last + 1 ? 0 : 1),
            keys: msg.key ? [...state.keys, msg.key].slice(-5000) : state.keys,
          };
          const effects: Effect[] = [{ kind: 'publish', tenantId: ctx.id, type: 'seq.applied', data: { n: msg.n } }];
          return { state: next, effects, reply: { count: next.count } };
        }
        case 'boom':
          if (crashes(msg.key)) throw new Error(`boom ${msg.key}`);
          return { state: { ...state, count: state.count + 1 }, reply: { survived: msg.key } };
        case 'remind':
          return { state, effects: [{ kind: 'schedule', timerId: 'reminder', at: msg.at, message: { type: 'reminded', note: msg.note } as never }], reply: 'scheduled' };
        case 'reminded':
          return { state: { ...state, reminders: [...state.reminders, msg.note] } };
        case 'call':
          return { state, effects: [{ kind: 'call', port: msg.port, op: msg.op, args: { from: ctx.id }, reply: true }] };
        case 'get':
          return { state, reply: state };
      }
    },
  };
}
