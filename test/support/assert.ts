import * as assert from 'uvu/assert';

type Ctor = abstract new (...args: never[]) => Error;

/** Asserts that `fn` throws an instance of `Class` (message matching `re`). */
export function throwsA(fn: () => unknown, Class: Ctor, re?: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, Class);
    if (re) assert.match(messageChain(err), re);
    return;
  }
  assert.unreachable(`expected ${Class.name} to be thrown`);
}

/** Asserts that `promise` rejects with an instance of `Class`; returns the error. */
export async function rejectsA<E extends Error>(promise: Promise<unknown>, Class: abstract new (...args: never[]) => E, re?: RegExp): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof Class)) assert.unreachable(`expected ${Class.name}, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    if (re) assert.match(messageChain(err), re);
    return err as E;
  }
  return assert.unreachable(`expected ${Class.name} to be thrown`) as never;
}

/** The message of an error and of every cause under it (drivers wrap errors). */
export function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(String((e as Error).message ?? e));
  }
  return parts.join(' <- ');
}
