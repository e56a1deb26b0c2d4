// Where the desk tells the editor what happened: refusals in #problem (role=alert) with the
// problem's title and detail, confirmations in #notice (role=status).
import { $, h } from './dom.js';

let user = null;
/** Who is signed in ({user_id, name, role}), or null. */
export function currentUser() { return user; }
export function setUser(u) { user = u; }

/** Shows a refusal: the problem's title and detail (and its invalid fields) in #problem, or
 * in box (another role=alert element, beside the form that was refused). */
export function showProblem(err, box = $('#problem')) {
  box.replaceChildren();
  if (!err) { box.hidden = true; return; }
  // A fault of the desk itself (not a refusal): no problem details, so say what to do about it.
  const p = err.problem || {
    title: 'Something went wrong',
    detail: `Reload the page; if it happens again, tell an administrator (${String(err.message || err)}).`,
  };
  box.append(h('strong', { class: 'problem-title' }, p.title || 'Refused'));
  if (p.detail) box.append(' ', h('span', { class: 'problem-detail' }, p.detail));
  if (Array.isArray(p.errors) && p.errors.length) {
    box.append(h('ul', {}, p.errors.map((e) => h('li', {}, e.field ? `${e.field}: ${e.detail}` : e.detail))));
  }
  box.hidden = false;
  if (err.status === 401 && user) window.dispatchEvent(new CustomEvent('desk:signed-out'));
}

export function clearProblem() { showProblem(null); }

/** A short confirmation that something was done, read out politely. */
export function notify(text) {
  const n = $('#notice');
  n.textContent = text;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { n.textContent = ''; }, 8000);
}
