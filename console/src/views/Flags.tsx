import { createResource, createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { api, currentToken, describeError } from '../api';
import { connectFlags, flagsLive, onFlagChange } from '../flags-store';
import { href } from '../router';

export const STAGES = ['Internal', 'Dogfood', 'Opt-in beta', 'Default-on', 'Full'];
export const stageText = (s: number) => `${s} ${STAGES[s] ?? '?'}`;

interface FlagRow { key: string; description: string; owner: string; stage: number; killed: boolean; killReason: string | null; version: number; audienceWarning: string | null }

/** Every feature flag: stage, kill state, owner; stage and kill state live from the `/flags` namespace. */
export function Flags() {
  onMount(() => {
    const token = currentToken();
    if (token) connectFlags(token);
  });
  const [list, { refetch }] = createResource(() => api<{ items: FlagRow[] }>('GET', '/api/v1/flags'));
  // A flag we do not know yet (created elsewhere): fetch the list again for its owner and description.
  const off = onFlagChange((c) => {
    if (!list.latest?.items.some((f) => f.key === c.key)) void refetch();
  });
  onCleanup(off);
  const [search, setSearch] = createSignal('');
  // The live feed is newer than the list fetched once: stage, kill state and version come from it when it has the flag.
  const rows = () =>
    (list.latest?.items ?? [])
      .map((f) => {
        const l = flagsLive.flags[f.key];
        return l && l.version >= f.version ? { ...f, stage: l.stage, killed: l.killed, version: l.version } : f;
      })
      .filter((f) => !search() || f.key.includes(search().toLowerCase()) || f.owner.toLowerCase().includes(search().toLowerCase()));
  return (
    <section aria-labelledby="flags-h">
      <h1 id="flags-h">Feature flags</h1>
      <p>
        Live feed: <span data-testid="flags-status">{flagsLive.status()}</span>
      </p>
      <Show when={flagsLive.problem()}>
        <p role="alert" class="problem">
          {flagsLive.problem()}
        </p>
      </Show>
      <Show when={list.error}>
        <p role="alert" class="problem">
          {describeError(list.error)}
        </p>
      </Show>
      <div class="filters">
        <label>
          Search flags <input type="search" value={search()} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </div>
      <table aria-label="Feature flags">
        <thead>
          <tr>
            <th scope="col">Flag</th>
            <th scope="col">Stage</th>
            <th scope="col">State</th>
            <th scope="col">Owner</th>
            <th scope="col">Version</th>
          </tr>
        </thead>
        <tbody>
          <For each={rows()} fallback={<tr><td colSpan={5}>{list.loading ? 'Loading…' : 'No flags yet.'}</td></tr>}>
            {(f) => (
              <tr data-flag={f.key} class={f.killed ? 'killed' : ''}>
                <th scope="row">
                  <a href={href('flag', f.key)}>{f.key}</a>
                  <div class="muted">{f.description}</div>
                </th>
                <td data-testid="flag-stage">{stageText(f.stage)}</td>
                <td data-testid="flag-state">{f.killed ? 'KILLED' : 'on its stage'}</td>
                <td>{f.owner}</td>
                <td data-testid="flag-version">{f.version}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  );
}
