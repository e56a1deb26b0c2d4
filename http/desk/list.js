// The desk list: every article, most recently changed first, filtered by status, author,
// language and words (the desk's search), paged. Filters live in the URL hash, so a filtered
// list can be bookmarked and Back returns to it.
import * as api from './api.js';
import { $, h, statusBadge, timeEl } from './dom.js';
import { showProblem } from './feedback.js';

const PER_PAGE = 25;
const FILTERS = ['q', 'status', 'author', 'language'];
let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  const form = $('#filters');
  form.addEventListener('submit', (e) => { e.preventDefault(); go(1); });
  for (const id of ['#filter-status', '#filter-author']) $(id).addEventListener('change', () => go(1));
  $('#filter-language').addEventListener('change', () => go(1));
  $('#new-article').addEventListener('click', () => { location.hash = '#/articles/new'; });
}

function filters() {
  const f = {};
  for (const name of FILTERS) f[name] = $('#filter-' + name).value.trim();
  return f;
}

function go(page) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters())) if (v) q.set(k, v);
  if (page > 1) q.set('page', page);
  const s = q.toString();
  location.hash = '#/' + (s ? '?' + s : '');
}

/** Lists the articles params (from the hash) ask for. */
export async function showList(params) {
  wire();
  for (const name of FILTERS) {
    const el = $('#filter-' + name);
    const v = params.get(name) || '';
    if (el.tagName === 'SELECT' && v && !el.querySelector(`option[value="${CSS.escape(v)}"]`)) {
      el.append(h('option', { value: v }, v)); // an author id from a shared link
    }
    el.value = v;
  }
  const page = Math.max(1, Number(params.get('page')) || 1);
  const query = { ...filters(), page, per_page: PER_PAGE };
  const searching = !!(query.q || query.author || query.language);
  const body = $('#article-list tbody');
  $('#article-list').setAttribute('aria-busy', 'true');
  let list;
  try {
    list = await api.listArticles(query);
  } catch (err) {
    body.replaceChildren();
    $('#list-summary').textContent = '';
    showProblem(err);
    return;
  } finally {
    $('#article-list').removeAttribute('aria-busy');
  }
  body.replaceChildren(...list.items.map((a) => row(a, searching)));
  if (!list.items.length) {
    body.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 },
      searching || query.status ? 'No article matches these filters.' : 'No articles yet. Start one with “New article”.')));
  }
  const from = (page - 1) * PER_PAGE + 1;
  $('#list-summary').textContent = list.total === 0 ? ''
    : `${from}–${from + list.items.length - 1} of ${list.total} ${searching ? 'found' : 'articles'}`;
  const last = Math.max(1, Math.ceil(list.total / PER_PAGE));
  $('#page-label').textContent = `Page ${page} of ${last}`;
  $('.pager').hidden = last <= 1 && page <= 1;
  const prev = $('#page-prev'), next = $('#page-next');
  prev.disabled = page <= 1;
  next.disabled = !list.next && page >= last;
  prev.onclick = () => go(page - 1);
  next.onclick = () => go(page + 1);
}

function row(a, searching) {
  const href = `#/articles/${encodeURIComponent(a.id)}`;
  const headline = h('a', { href, class: 'row-link' });
  if (searching && a.highlights && a.highlights.headline) marked(headline, a.highlights.headline);
  else headline.textContent = a.headline || (a.status === 'killed' ? '(killed: its text is erased)' : '(no headline)');
  const extra = [];
  if (a.pending_correction) extra.push(h('span', { class: 'flag' }, 'correction pending'));
  if (a.embargo_until) extra.push(h('span', { class: 'flag' }, 'embargo'));
  if (a.translation_of) extra.push(h('span', { class: 'flag flag-quiet' }, 'translation'));
  const snippet = searching && a.highlights && a.highlights.snippet
    ? marked(h('p', { class: 'snippet' }), a.highlights.snippet) : null;
  return h('tr', { dataset: { articleId: a.id } },
    h('td', { class: 'cell-headline', 'data-label': 'Headline' }, headline, extra.length ? h('span', { class: 'flags' }, extra) : null, snippet),
    h('td', { 'data-label': 'Status' }, statusBadge(a.status)),
    h('td', { 'data-label': 'Language' }, a.language),
    h('td', { 'data-label': 'Byline', class: 'cell-byline' + (a.byline ? '' : ' is-empty') }, a.byline || '—'),
    h('td', { 'data-label': 'Updated', class: 'cell-time' }, timeEl(a.updated_at)),
  );
}

// marked fills el with a search highlight: HTML-escaped text whose only elements are <mark>.
// It is parsed inert and rebuilt from text and <mark> alone, whatever it holds.
function marked(el, html) {
  const t = document.createElement('template');
  t.innerHTML = html;
  for (const n of t.content.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) el.append(n.textContent);
    else if (n.nodeName === 'MARK') el.append(h('mark', {}, n.textContent));
    else el.append(n.textContent || '');
  }
  return el;
}
