// The desk's entry point: the session, the router (by URL hash: #/ the list, #/articles/<id>
// an article, #/articles/new a new one), and the one place problems are shown.
import * as api from './api.js';
import { $, show } from './dom.js';
import { showList } from './list.js';
import { showEditor, leaveEditor, hasUnsavedChanges } from './editor.js';
import { showProblem, clearProblem, notify, currentUser, setUser } from './feedback.js';

const views = ['signin-view', 'list-view', 'editor-view'];

function showView(id) {
  for (const v of views) show($('#' + v), v === id);
}

function renderUser() {
  const user = currentUser();
  show($('#user'), !!user);
  $('#whoami').textContent = user ? `${user.name || user.user_id} · ${user.role}` : '';
  const author = $('#filter-author');
  author.querySelector('option[data-me]')?.remove();
  if (user) {
    const o = document.createElement('option');
    o.value = user.user_id;
    o.dataset.me = '';
    o.textContent = `Me (${user.name || user.user_id})`;
    author.append(o);
  }
}

function signedOut(message) {
  setUser(null);
  renderUser();
  leaveEditor();
  showView('signin-view');
  if (message) notify(message);
  $('#token').focus();
}

async function route() {
  if (!currentUser()) return;
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // an in-page link, not a route
  clearProblem();
  const [path, query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const m = path.match(/^\/articles\/([^/]+)$/);
  // Focus follows the route, so that keyboard and screen-reader users land on the new view
  // rather than on a link that is now hidden.
  const lost = () => !document.activeElement || document.activeElement === document.body || document.activeElement.closest('[hidden]');
  if (m) {
    showView('editor-view');
    await showEditor(m[1] === 'new' ? null : decodeURIComponent(m[1]), params);
    if (lost()) $('#editor-title').focus();
  } else {
    leaveEditor();
    showView('list-view');
    await showList(params);
    if (lost()) $('#list-title').focus();
  }
}

async function start() {
  $('#skip').addEventListener('click', (e) => { e.preventDefault(); $('#main').focus(); });
  $('#signin').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#token');
    const token = input.value.trim();
    if (!token) {
      showProblem({ problem: { title: 'Token required', detail: 'Paste your access token to sign in.' } });
      input.focus();
      return;
    }
    const button = $('#signin-submit');
    button.disabled = true;
    try {
      await api.signIn(token);
      input.value = '';
      setUser(await api.me());
      clearProblem();
      renderUser();
      await route();
      $('#main').focus();
    } catch (err) {
      showProblem(err);
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  $('#signout').addEventListener('click', async () => {
    try { await api.signOut(); } catch (err) { /* the cookie is cleared or gone either way */ }
    signedOut('Signed out.');
  });
  // Edits not saved are never lost silently: leaving the editor inside the desk asks first (a
  // refusal puts the address back, without a route, as a new entry: replacing the current one
  // would drop the list's entry from the history after Back), leaving the page has the browser
  // ask.
  let shown = location.hash;
  window.addEventListener('hashchange', () => {
    if (hasUnsavedChanges() && !window.confirm('You have unsaved changes. Leave this article and lose them?')) {
      history.pushState(null, '', shown || '#/');
      return;
    }
    shown = location.hash;
    route().catch(showProblem);
  });
  window.addEventListener('beforeunload', (e) => {
    if (!hasUnsavedChanges()) return;
    e.preventDefault();
    e.returnValue = ''; // browsers that predate preventDefault here
  });
  window.addEventListener('desk:signed-out', () => signedOut('Your session has ended. Sign in again.'));

  try {
    setUser(await api.me());
  } catch (err) {
    showProblem(err);
  }
  renderUser();
  if (!currentUser()) { showView('signin-view'); return; }
  await route();
}

start().catch(showProblem);
