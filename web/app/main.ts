// The app's first page: says whether the API answers and lists the namespaces a token sees.
const health = document.querySelector<HTMLParagraphElement>('#health')!;
const list = document.querySelector<HTMLUListElement>('#namespaces')!;

fetch('/api/v1/health')
  .then((r) => r.json())
  .then((h: { status: string; version: string }) => (health.textContent = `API ${h.status}, version ${h.version}.`))
  .catch(() => (health.textContent = 'The API does not answer: is `npm start` running?'));

document.querySelector<HTMLFormElement>('#who')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = new FormData(event.target as HTMLFormElement).get('token');
  const res = await fetch('/api/v1/namespaces', { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  list.replaceChildren(
    ...(res.ok
      ? body.items.map((n: { name: string }) => Object.assign(document.createElement('li'), { textContent: n.name }))
      : [Object.assign(document.createElement('li'), { textContent: body.error?.message ?? `HTTP ${res.status}` })]),
  );
});
