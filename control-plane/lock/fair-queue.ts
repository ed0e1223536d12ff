import { randomBytes } from 'node:crypto';

/**
 * First come, first served for callers that wait on a Redlock key.
 *
 * Plain Redlock has no queue: whoever retries first after a release wins,
 * and a worker that has just released (its next first attempt is immediate)
 * keeps beating waiters that sleep their retry delay. Here every Redis node
 * keeps, next to the lock key, the callers waiting for it, ordered by the
 * time of their first attempt; a free key goes to the oldest live waiter.
 *
 * - The lock value carries that time and whether the caller waits:
 *   `<first attempt, epoch ms>.<w|n>.<random>`. Every node orders waiters by
 *   the same (time, value) pair, so the nodes agree on whose turn it is and a
 *   quorum forms for that caller; they cannot each pick a different one.
 * - A waiter that stops retrying (crash, gave up) is dropped once it has not
 *   been seen for `staleMs`; a live waiter that was dropped while its event
 *   loop stalled comes back at its old place on its next attempt.
 * - A caller that does not wait (retry count 0) never queues: it gets a free
 *   key only when nobody is waiting for it.
 * - The first waiter is woken by the release (its value published on
 *   `<key>:free`) rather than by its next retry tick, so a handoff costs a
 *   round trip, not a retry delay; retry ticks remain the fallback.
 * - A caller that gives up leaves the queue at once (LEAVE_QUEUE_SCRIPT).
 *
 * The queue keys are `<lock key>:waiters` and `<lock key>:seen` on the same
 * standalone node (Redlock's nodes are independent masters, not a cluster).
 */
export function lockValue(firstAttemptMs: number, waits: boolean): string {
  return `${Math.floor(firstAttemptMs)}.${waits ? 'w' : 'n'}.${randomBytes(12).toString('hex')}`;
}

/** Acquire: ARGV[1] value, ARGV[2] ttl ms. Returns 1 when taken, 0 when held or not this caller's turn. */
export function fairAcquireScript(staleMs: number): string {
  const stale = Math.max(1, Math.round(staleMs));
  return `
local key = KEYS[1]
local value = ARGV[1]
local waiters = key .. ':waiters'
local seen = key .. ':seen'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', seen, '-inf', now - ${stale}, 'LIMIT', 0, 256)
for _, d in ipairs(dead) do
  redis.call('ZREM', waiters, d)
  redis.call('ZREM', seen, d)
end
local waits = string.match(value, '^%d+%.(%a)%.') == 'w'
local function queue()
  if not waits then return end
  local first = tonumber(string.match(value, '^(%d+)%.')) or now
  redis.call('ZADD', waiters, 'NX', first, value)
  redis.call('ZADD', seen, now, value)
  redis.call('PEXPIRE', waiters, ${stale * 4})
  redis.call('PEXPIRE', seen, ${stale * 4})
end
if redis.call('EXISTS', key) == 1 then
  queue()
  return 0
end
local head = redis.call('ZRANGE', waiters, 0, 0)[1]
if head ~= nil and head ~= value then
  queue()
  return 0
end
redis.call('SET', key, value, 'PX', ARGV[2])
if head ~= nil then
  redis.call('ZREM', waiters, value)
  redis.call('ZREM', seen, value)
end
return 1
`;
}

/**
 * Release: deletes the key when it holds this value (returns 1, else 0) and,
 * when someone is queued, publishes the first waiter's value on `<key>:free`
 * so that waiter retries at once instead of at its next retry tick (the
 * others sleep on). Redlock also runs it for a failed
 * attempt's partial votes; the caller stays queued (see LEAVE_QUEUE_SCRIPT).
 */
export const FAIR_RELEASE_SCRIPT = `
local key = KEYS[1]
if redis.call('GET', key) ~= ARGV[1] then return 0 end
redis.call('DEL', key)
local head = redis.call('ZRANGE', key .. ':waiters', 0, 0)[1]
if head then redis.call('PUBLISH', key .. ':free', head) end
return 1
`;

/** A waiter that gives up leaves the queue: KEYS[1] lock key, ARGV[1] value. */
export const LEAVE_QUEUE_SCRIPT = `
redis.call('ZREM', KEYS[1] .. ':waiters', ARGV[1])
redis.call('ZREM', KEYS[1] .. ':seen', ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  local head = redis.call('ZRANGE', KEYS[1] .. ':waiters', 0, 0)[1]
  if head then redis.call('PUBLISH', KEYS[1] .. ':free', head) end
end
return 1
`;

/** The channel a release publishes on. */
export const freeChannel = (resource: string) => `${resource}:free`;
