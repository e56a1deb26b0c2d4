// Small DOM helpers. Text goes in as text (textContent), never as HTML: the only HTML the desk
// inserts is the server's sanitised preview.

/** h('a', {href: '#/'}, 'text', child…) builds an element; attributes with null/false are left out. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function show(el, visible = true) { el.hidden = !visible; }

/** A time as the desk shows it: local, to the minute, with the full time as a tooltip. */
export function timeEl(iso) {
  if (!iso) return h('span', {}, '—');
  const d = new Date(iso);
  return h('time', { datetime: iso, title: d.toString() }, formatTime(d));
}

export function formatTime(d) {
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** An RFC 3339 time from the value of an <input type="datetime-local"> (local time). */
export function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value); // datetime-local is read as local time
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export const STATUS_LABELS = {
  draft: 'Draft', in_review: 'In review', changes_requested: 'Changes requested', approved: 'Approved',
  scheduled: 'Scheduled', published: 'Published', retracted: 'Retracted', spiked: 'Spiked', killed: 'Killed',
};

/** A status badge: the status as the API names it, styled by it. */
export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, title: STATUS_LABELS[status] || status }, status);
}
