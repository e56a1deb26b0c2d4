// Where the desk tells the editor what happened: refusals in #problem (role=alert) with the
// problem's title and detail, confirmations in #notice (role=status).
import { $ } from './dom.js';

let user = null;
/** Who is signed in ({user_id, name, role}), or null. */
export function currentUser() { return user; }
export function setUser(u) { user = u; }

/** Shows a refusal: the problem's title and detail (and its invalid fields) in #problem, or
 * in box (another role=alert element, beside the form that was refused). */
export function showProblem(err, box = $('#problem')) {
  box.replaceChildren();
  if (!err) { box.hidden = true; return; }
  const p = err.problem || { title: 'Something went wrong', detail: String(err.message || err) };
  const title = document.createElement('strong');
  title.className = 'problem-title';
  title.textContent = p.title || 'Refused';
  box.append(title);
  if (p.detail) {
    const d = document.createElement('span');
    d.className = 'problem-detail';
    d.textContent = p.detail;
    box.append(' ', d);
  }
  if (Array.isArray(p.errors) && p.errors.length) {
    const ul = document.createElement('ul');
    for (const e of p.errors) {
      const li = document.createElement('li');
      li.textContent = e.field ? `${e.field}: ${e.detail}` : e.detail;
      ul.append(li);
    }
    box.append(ul);
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
