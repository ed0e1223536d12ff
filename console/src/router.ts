import { createSignal } from 'solid-js';

/** Hash routes (`#/tenants`, `#/tenant/acme`): the server needs no route table of its own. */
const read = () => (location.hash.replace(/^#\/?/, '') || 'tenants').split('/').map(decodeURIComponent);
const [route, setRoute] = createSignal<string[]>(read());
window.addEventListener('hashchange', () => setRoute(read()));

export { route };
export const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`;
export const go = (...parts: string[]) => void (location.hash = href(...parts));
