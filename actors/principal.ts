import type { Role } from '../db/schema/enums';

/** Who asks: an operator (by name and role) or a component of the system. */
export interface Principal {
  readonly kind: 'user' | 'system';
  readonly name: string;
  readonly role: Role;
  readonly tokenId?: string;
}

export function actorOf(p: Principal): string {
  return `${p.kind}:${p.name}`;
}
