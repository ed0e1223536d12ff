/**
 * The live channel's wire shapes (socket.io, path `/live`, namespace `/`).
 * Shared by the server and the console: no imports, types only.
 *
 * Client → server: handshake `auth: { token }`; `subscribe` (ack: snapshot or
 * resume); `detail` (ack: one tenant's detail). Server → client: `hello` on
 * connect, `delta` for each change, `session.ended` before a disconnect for a
 * revoked or expired token.
 */

/** One row of the tenants list. */
export interface TenantSummary {
  id: string;
  name: string;
  stage: string;
  championId: string | null;
  championLabel: string | null;
  canary: { id: string; label: string; trafficPercent: number; verdict: string | null } | null;
  shadowIds: string[];
  locks: { forensic: boolean; forensicReason: string | null; cooldownUntil: string | null };
  /** Last daily drift scores, oldest first (at most 7). */
  driftScores: Array<{ day: string; score: number | null }>;
  driftScore: number | null;
  breach: boolean;
  /** Latest day's relative MAE change against the baseline (mean over the day's models); negative is better. */
  maeDelta: number | null;
  openAlerts: number;
  revision: number;
}

/** A change, in per-node order. `seq` grows by 1 per delta; `epoch` names the node's run. */
export interface Delta {
  seq: number;
  epoch: string;
  /** Server time (ms since epoch) the source event was received. */
  at: number;
  /** Null for changes not tied to a tenant (governance unlocks). */
  tenantId: string | null;
  /** The bus event type (`model.transitioned`, `retrain.progress`, `governance.unlock`, `alerts.count`, …). */
  type: string;
  data: unknown;
  /** The tenant's row after the change, when the change may alter it. */
  summary?: TenantSummary;
}

export interface SubscribeRequest {
  /** `'*'` for every tenant the caller may see, or a list of ids. */
  tenants: '*' | string[];
  /** Resume after a reconnect: the last delta the client applied. */
  resume?: { epoch: string; seq: number };
}

export type SubscribeReply =
  | { ok: true; mode: 'snapshot'; epoch: string; seq: number; tenants: TenantSummary[] }
  | { ok: true; mode: 'resume'; epoch: string; seq: number; deltas: Delta[] }
  | { ok: false; error: { code: string; message: string } };

export interface Hello {
  name: string;
  role: string;
  epoch: string;
  seq: number;
}

export interface SessionEnded {
  code: string;
  message: string;
}

/** One tenant's versions, lifecycle history and approvals (`detail`). */
export interface TenantDetail {
  summary: TenantSummary;
  models: Array<{ id: string; label: string; state: string; owner: string | null; revision: number; canaryTrafficPercent: number | null; canaryVerdict: string | null; updatedAt: string }>;
  /** Newest first, at most 100, across the tenant's versions. */
  transitions: Array<{ modelVersionId: string; from: string; to: string; reason: string; actor: string; at: string }>;
  approvals: Array<{ modelVersionId: string; approver: string; decision: string; justification: string; at: string }>;
}

/** A version in the approvals queue (`GET /api/v1/approvals/pending`). */
export interface PendingApproval {
  modelVersionId: string;
  tenantId: string;
  tenantStage: string;
  label: string;
  owner: string | null;
  state: string;
  revision: number;
  canaryVerdict: string | null;
  canaryTrafficPercent: number | null;
  artifactSha256: string | null;
  championId: string | null;
  /** Rejections so far (an approval takes the version out of the queue). */
  rejections: Array<{ approver: string; justification: string; at: string }>;
  since: string;
}
