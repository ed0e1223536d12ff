import type { MemberRow, UnlockRow } from '../../db/schema';

/** The JSON of an unlock request in the API and on the bus: never a share. */
export interface UnlockDto {
  id: string;
  action: string;
  params: unknown;
  justification: string;
  actionHash: string;
  nonce: string;
  expiresAt: string;
  threshold: number;
  committeeId: string;
  state: string;
  proposedBy: string;
  createdAt: string;
  resets: number;
  received: Array<{ memberId: string; name: string; at: string }>;
  progress: string;
  signature?: string;
  unlockedAt?: string;
  consumedAt?: string;
  consumedBy?: string;
}

/** Builds the API view of a request from its row, threshold, current submissions and members' names. */
export function toDto(u: UnlockRow, threshold: number, received: Array<{ memberId: string; at: Date }>, members: MemberRow[]): UnlockDto {
  const names = new Map(members.map((m) => [m.memberId, m.name]));
  return {
    id: u.id,
    action: u.action,
    params: u.params,
    justification: u.justification,
    actionHash: u.actionHash,
    nonce: u.nonce,
    expiresAt: u.expiresAt.toISOString(),
    threshold,
    committeeId: u.committeeId,
    state: u.state,
    proposedBy: u.proposedBy,
    createdAt: u.createdAt.toISOString(),
    resets: u.resets,
    received: received.map((r) => ({ memberId: r.memberId, name: names.get(r.memberId) ?? r.memberId, at: r.at.toISOString() })),
    progress: u.state === 'PENDING' ? `${received.length} of ${threshold}` : u.state,
    ...(u.signature ? { signature: u.signature } : {}),
    ...(u.unlockedAt ? { unlockedAt: u.unlockedAt.toISOString() } : {}),
    ...(u.consumedAt ? { consumedAt: u.consumedAt.toISOString(), consumedBy: u.consumedBy ?? '' } : {}),
  };
}
