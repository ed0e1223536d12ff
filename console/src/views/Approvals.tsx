import { createResource, For, onCleanup, Show } from 'solid-js';
import type { PendingApproval } from '../../../control-plane/live/protocol';
import { api, describeError, roleAtLeast } from '../api';
import { live, onDelta } from '../live-store';
import { href } from '../router';
import { ActionForm } from './ActionForm';

/** Versions awaiting a MANAGER, with their evidence; approve or reject with a justification. */
export function Approvals() {
  const [queue, { refetch }] = createResource(() => api<{ items: PendingApproval[] }>('GET', '/api/v1/approvals/pending'));
  const off = onDelta((d) => {
    if (d.type.startsWith('model.')) void refetch();
  });
  onCleanup(off);
  const decide = (id: string, decision: 'approve' | 'reject') => async (justification: string) => {
    await api('POST', `/api/v1/models/${id}/approvals`, { decision, justification });
    await refetch();
  };
  return (
    <section aria-labelledby="approvals-h">
      <h1 id="approvals-h">Approvals</h1>
      <Show when={queue.error}>
        <p role="alert" class="problem">
          {describeError(queue.error)}
        </p>
      </Show>
      <Show when={(queue.latest?.items.length ?? 0) > 0} fallback={<p data-testid="approvals-empty">Nothing awaits an approval.</p>}>
        <ul class="cards" aria-label="Versions awaiting approval">
          <For each={queue.latest?.items}>
            {(p) => (
              <li class="card" data-approval={p.modelVersionId}>
                <h2>
                  <a href={href('tenant', p.tenantId)}>{p.tenantId}</a> · {p.label}
                </h2>
                <dl class="facts">
                  <dt>Tenant stage</dt>
                  <dd>{p.tenantStage}</dd>
                  <dt>Canary verdict</dt>
                  <dd>{p.canaryVerdict ?? 'no verdict yet'}</dd>
                  <dt>Traffic</dt>
                  <dd>{p.canaryTrafficPercent ?? 0}%</dd>
                  <dt>Artifact</dt>
                  <dd>
                    <code>{p.artifactSha256?.slice(0, 16) ?? 'none'}</code>
                  </dd>
                  <dt>Owner</dt>
                  <dd>{p.owner ?? '—'}</dd>
                  <dt>Waiting since</dt>
                  <dd>{p.since}</dd>
                  <Show when={p.rejections.length > 0}>
                    <dt>Rejected before</dt>
                    <dd>{p.rejections.map((r) => `${r.approver}: ${r.justification}`).join('; ')}</dd>
                  </Show>
                </dl>
                <Show when={roleAtLeast(live.who()?.role, 'MANAGER')}>
                  <div class="actions">
                    <ActionForm label="Approve" field="Justification (required)" run={decide(p.modelVersionId, 'approve')} done="Approved" />
                    <ActionForm label="Reject" field="Justification (required)" run={decide(p.modelVersionId, 'reject')} done="Rejected" />
                  </div>
                </Show>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </section>
  );
}
