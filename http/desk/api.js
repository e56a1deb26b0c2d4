// The desk's only way to the server: /api/v1, authenticated by the session cookie that
// POST /api/v1/session sets. Every request that changes something carries the session's CSRF
// token; every command's answer says where it landed in the log (X-Newsroom-Position), and the
// next read passes that back as min_position, so the desk always sees its own writes.

/** An answer other than 2xx: the problem details (RFC 9457) and the response. */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    // An answer without problem details (a proxy's 502 or 504) still tells the editor what to do.
    problem = problem || {
      title: `HTTP ${status}`, status,
      detail: `The server answered ${status} without an explanation. Try again in a moment; if it goes on, tell an administrator.`,
    };
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }
}

// position: the highest log position this desk has written; fresh reads wait for the views to reach it.
const state = { csrf: '', position: 0 };

function notePosition(headers) {
  const p = Number(headers.get('X-Newsroom-Position'));
  if (Number.isSafeInteger(p) && p > state.position) state.position = p;
}

// body is sent as JSON; form (a FormData) as multipart/form-data, its boundary set by fetch.
async function call(method, path, { body, form, headers = {}, fresh = false } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && state.csrf) h['X-CSRF-Token'] = state.csrf;
  let url = '/api/v1' + path;
  if (fresh && state.position > 0) {
    url += (url.includes('?') ? '&' : '?') + 'min_position=' + state.position;
  }
  let res;
  try {
    res = await fetch(url, {
      method, headers: h, credentials: 'same-origin', cache: 'no-store',
      body: form || (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch (err) {
    throw new ApiError(0, { title: 'Network error', detail: 'The server could not be reached. Check your connection and try again.' }, new Headers());
  }
  notePosition(res.headers);
  const type = res.headers.get('Content-Type') || '';
  const data = res.status === 204 ? null
    : type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  return { data, headers: res.headers, status: res.status };
}

// Sessions.
export async function signIn(token) {
  const { data } = await call('POST', '/session', { body: { token } });
  state.csrf = data.csrf_token || '';
  return data;
}
export async function signOut() {
  try { await call('DELETE', '/session'); } finally { state.csrf = ''; state.position = 0; }
}
/** Who is signed in, or null when nobody is (401). */
export async function me() {
  try {
    const { data } = await call('GET', '/me');
    state.csrf = data.csrf_token || state.csrf;
    return data;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

// Articles.
export async function listArticles(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) q.set(k, v);
  const s = q.toString();
  return (await call('GET', '/articles' + (s ? '?' + s : ''), { fresh: true })).data;
}
export async function getArticle(id, version) {
  const v = version ? '?version=' + encodeURIComponent(version) : '';
  return (await call('GET', `/articles/${encodeURIComponent(id)}${v}`)).data;
}
export async function history(id) {
  return (await call('GET', `/articles/${encodeURIComponent(id)}/history`, { fresh: true })).data.items;
}
/** Drafts an article; key makes a retry return the same article instead of a second one. */
export async function draft(fields, key) {
  return (await call('POST', '/articles', { body: fields, headers: { 'Idempotency-Key': key } })).data;
}
/** Revises an article at version (If-Match): 412 when someone else changed it first. */
export async function revise(id, version, changes) {
  return (await call('PATCH', `/articles/${encodeURIComponent(id)}`, {
    body: changes, headers: { 'If-Match': `"${version}"` },
  })).data;
}
/** Gives a workflow command (submit, approve, correct/confirm…) at version. */
export async function command(id, version, name, body) {
  const headers = version ? { 'If-Match': `"${version}"` } : {};
  const res = await call('POST', `/articles/${encodeURIComponent(id)}/${name}`, { body, headers });
  return res.data;
}
export async function preview(markdown) {
  return (await call('POST', '/preview', { body: { body: markdown } })).data.body_html;
}

// Images.
/** Uploads an image: form holds file, and caption, credit, alt and copyright. */
export async function uploadMedia(form) {
  return (await call('POST', '/media', { form })).data;
}
/** An image's description and renditions, once the media view has this desk's writes. */
export async function getMedia(id) {
  return (await call('GET', `/media/${encodeURIComponent(id)}`, { fresh: true })).data;
}
/** Describes an image at version (If-Match): 412 when someone else described it first. */
export async function describeMedia(id, version, changes) {
  return (await call('PATCH', `/media/${encodeURIComponent(id)}`, {
    body: changes, headers: { 'If-Match': `"${version}"` },
  })).data;
}
