import { Hono } from 'hono';

/** The node's clock as data planes and the demo simulator see it. */
export interface ClockInfo {
  now(): Date;
  /** Simulated seconds per real second: 1, or more in demo mode (accelerated time). */
  speed: number;
}

/** `GET /api/v1/clock` (any role): the node's time, so a remote data plane can timestamp its events on it. */
export function clockRoutes(clock: ClockInfo) {
  return new Hono().get('/clock', (c) => c.json({ now: clock.now().toISOString(), speed: clock.speed }));
}
