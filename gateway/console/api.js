// The REST API as the console uses it: the session cookie goes along by
// itself (same origin); state changes carry the CSRF token the login gave.

export const session = { name: null, role: null, csrf: null };
const ranks = { viewer: 1, operator: 2, admin: 3 };

/** Whether the logged-in user has at least `role`. */
export function can(role) {
  return (ranks[session.role] || 0) >= ranks[role];
}

export class ApiError extends Error {
  constructor(status, data) {
    const detail = data && typeof data === 'object' ? (data.detail || data.error) : data;
    super(detail ? `${status}: ${detail}` : `HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (res.status === 401 && path !== '/api/v1/login') onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => api('GET', path);

/** Who is logged in (GET /api/v1/session); false when nobody. */
export async function loadSession() {
  try {
    const s = await api('GET', '/api/v1/session');
    session.name = s.name; session.role = s.role; session.csrf = s.csrf_token || null;
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

export async function login(name, password) {
  const r = await api('POST', '/api/v1/login', { name, password });
  session.csrf = r.csrf_token || null;
  return loadSession();
}

export async function logout() {
  try { await api('POST', '/api/v1/logout'); } finally {
    session.name = session.role = session.csrf = null;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
