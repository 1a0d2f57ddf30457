// The console's shell: session, navigation (#/page), the login form.
import { session, loadSession, login, logout, setUnauthorizedHandler, can } from './api.js';
import { el, errorBox } from './ui.js';
import { pages } from './pages.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let cleanup = null;

function showLogin(message) {
  if (cleanup) { cleanup(); cleanup = null; }
  top.hidden = true;
  const name = el('input', { id: 'login-name', name: 'name', autocomplete: 'username', required: true });
  const password = el('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = el('div', { id: 'login-error', 'aria-live': 'assertive' }, message ? errorBox(message) : null);
  const button = el('button', { id: 'login-submit', type: 'submit', class: 'primary' }, 'Log in');
  const form = el('form', { class: 'login', id: 'login-form' },
    el('h1', {}, 'pushgate'),
    el('label', {}, 'User', name),
    el('label', {}, 'Password', password),
    button, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    status.replaceChildren();
    try {
      await login(name.value, password.value);
      route();
    } catch (e) {
      // 401 wrong name or password, 429 locked out: the server says which.
      status.replaceChildren(errorBox(e));
      password.value = '';
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(form);
  name.focus();
}

async function route() {
  try {
    if (!session.role && !(await loadSession())) {
      showLogin();
      return;
    }
  } catch (e) {
    showLogin(`The gateway did not answer as expected (${e.message}); try again.`);
    return;
  }
  top.hidden = false;
  document.getElementById('who').textContent = `${session.name} (${session.role})`;
  for (const a of document.querySelectorAll('#nav a')) {
    a.hidden = a.dataset.role ? !can(a.dataset.role) : false;
  }
  const name = (location.hash.replace(/^#\/?/, '').split('?')[0]) || 'overview';
  const page = pages[name] || pages.overview;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (cleanup) { cleanup(); cleanup = null; }
  const root = el('section', { id: `page-${name}`, 'aria-labelledby': 'page-title' });
  main.replaceChildren(root);
  try {
    cleanup = (await page(root)) || null;
  } catch (e) {
    root.append(errorBox(e));
  }
  main.focus({ preventScroll: true });
}

setUnauthorizedHandler(() => {
  session.name = session.role = session.csrf = null;
  showLogin('Your session ended; log in again.');
});

document.getElementById('logout').addEventListener('click', async () => {
  try { await logout(); } catch { /* the session is gone either way */ }
  location.hash = '#/overview';
  showLogin();
});

window.addEventListener('hashchange', route);
route();
