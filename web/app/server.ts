/** Where the app syncs to, to show on the settings page (the registry keeps the token itself). */
export interface ServerSettings {
  url: string;
  namespaces: string[];
}

const KEY = 'hangar.server';

export function loadServerSettings(): ServerSettings | null {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? 'null') as ServerSettings | null;
  } catch {
    return null;
  }
}

export function saveServerSettings(s: ServerSettings | null): void {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

/**
 * Checks that `url` is a Hangar server and that `token` opens it; answers the namespaces the
 * token sees. Every failure is a sentence saying which of the two is wrong.
 */
export async function checkServer(url: string, token: string): Promise<string[]> {
  let base: URL;
  try {
    base = new URL(url.replace(/\/+$/, '') + '/');
  } catch {
    throw new Error(`"${url}" is not a URL: write it as https://hangar.example.com.`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('The server URL must start with https:// (or http:// on this machine).');
  const health = await fetch(new URL('api/v1/health', base)).catch(() => null);
  const body = (await health?.json().catch(() => null)) as { status?: unknown } | null;
  if (!health) throw new Error(`Nothing answered at ${base.origin}: check the URL, and that the server is up and allows this site (CORS).`);
  if (!health.ok || !body || typeof body.status !== 'string') {
    throw new Error(`${base.origin} answered, but it is not a Hangar server: it has no Hangar API at /api/v1.`);
  }
  const res = await fetch(new URL('api/v1/namespaces', base), { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  if (!res) throw new Error(`${base.origin} did not answer with this token: the server may not allow this site (CORS) for it.`);
  const answer = (await res.json().catch(() => null)) as { items?: { name: string }[]; error?: { code: string; message: string } } | null;
  if (!res.ok) {
    const why = answer?.error?.message ?? `HTTP ${res.status}`;
    if (res.status === 401) throw new Error(`The server does not accept this token: ${why}`);
    if (res.status === 403) throw new Error(`This token may not be used here: ${why}`);
    throw new Error(why);
  }
  return (answer?.items ?? []).map((n) => n.name);
}
