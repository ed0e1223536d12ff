import { createEffect, For, Match, Show, Switch } from 'solid-js';
import { setToken } from './api';
import { disconnectFlags } from './flags-store';
import { disconnectLive, live } from './live-store';
import { href, route } from './router';
import { Login } from './views/Login';
import { Tenants } from './views/Tenants';
import { TenantDetail } from './views/TenantDetail';
import { Approvals } from './views/Approvals';
import { Governance } from './views/Governance';
import { Alerts } from './views/Alerts';
import { Audit } from './views/Audit';
import { Executive } from './views/Executive';
import { Engineer } from './views/Engineer';
import { Agronomist } from './views/Agronomist';
import { Flags } from './views/Flags';
import { FlagDetail } from './views/FlagDetail';

const NAV: Array<[string, string]> = [
  ['tenants', 'Tenants'],
  ['approvals', 'Approvals'],
  ['governance', 'Governance'],
  ['flags', 'Flags'],
  ['alerts', 'Alerts'],
  ['audit', 'Audit'],
  ['executive', 'Executive'],
  ['engineer', 'Engineer'],
  ['agronomist', 'Agronomist'],
];

export function App() {
  const signOut = () => {
    setToken(null);
    disconnectLive();
    disconnectFlags();
  };
  // Signed out (or the session ended): the flags feed goes too.
  createEffect(() => {
    if (!live.who()) disconnectFlags();
  });
  return (
    <Show when={live.who()} fallback={<Login />}>
      {(who) => (
        <div class="shell">
          <header class="top">
            <strong>Tollgate</strong>
            <nav aria-label="Views">
              <ul>
                <For each={NAV}>
                  {([id, label]) => (
                    <li>
                      <a href={href(id)} aria-current={route()[0] === id || (id === 'tenants' && route()[0] === 'tenant') || (id === 'flags' && route()[0] === 'flag') ? 'page' : undefined}>
                        {label}
                      </a>
                    </li>
                  )}
                </For>
              </ul>
            </nav>
            <span class="who" data-testid="who">
              {who().name} · <span data-testid="role">{who().role}</span>
            </span>
            <span class={`status status-${live.status()}`} role="status" data-testid="live-status">
              {live.status()}
            </span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </header>
          <Show when={live.problem()}>
            <p role="alert" class="problem">
              {live.problem()}
            </p>
          </Show>
          <main>
            <Switch fallback={<Tenants />}>
              <Match when={route()[0] === 'tenant' && route()[1]}>{(id) => <TenantDetail id={id()} />}</Match>
              <Match when={route()[0] === 'flag' && route()[1]}>{(key) => <FlagDetail flagKey={key()} />}</Match>
              <Match when={route()[0] === 'flags'}>
                <Flags />
              </Match>
              <Match when={route()[0] === 'approvals'}>
                <Approvals />
              </Match>
              <Match when={route()[0] === 'governance'}>
                <Governance />
              </Match>
              <Match when={route()[0] === 'alerts'}>
                <Alerts />
              </Match>
              <Match when={route()[0] === 'audit'}>
                <Audit />
              </Match>
              <Match when={route()[0] === 'executive'}>
                <Executive />
              </Match>
              <Match when={route()[0] === 'engineer'}>
                <Engineer />
              </Match>
              <Match when={route()[0] === 'agronomist'}>
                <Agronomist />
              </Match>
            </Switch>
          </main>
        </div>
      )}
    </Show>
  );
}
