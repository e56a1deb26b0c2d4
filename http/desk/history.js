// An article's history: the timeline of its events, and the difference between two of its
// versions, field by field (each version read with GET /api/v1/articles/{id}?version=N).
import * as api from './api.js';
import { $, h, statusBadge, timeEl } from './dom.js';
import { showProblem } from './feedback.js';
import { FIELDS, FIELD_LABELS, fieldText, diffView } from './fields.js';

// Events that change the text: the versions worth comparing.
const TEXT_EVENTS = ['article.drafted', 'article.revised', 'article.corrected'];

const EVENT_LABELS = {
  'article.drafted': 'Drafted', 'article.revised': 'Revised', 'article.submitted': 'Submitted for review',
  'article.changes_requested': 'Changes requested', 'article.approved': 'Approved', 'article.published': 'Published',
  'article.scheduled': 'Scheduled', 'article.unscheduled': 'Unscheduled', 'article.embargo_lifted': 'Embargo lifted',
  'article.embargo_moved': 'Embargo moved', 'article.correction_proposed': 'Correction proposed',
  'article.correction_withdrawn': 'Correction withdrawn', 'article.corrected': 'Corrected',
  'article.retracted': 'Retracted', 'article.spiked': 'Spiked', 'article.killed': 'Killed',
};

let current = { id: '', entries: [] };
let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  $('#compare').addEventListener('submit', (e) => {
    e.preventDefault();
    compare(Number($('#compare-from').value), Number($('#compare-to').value)).catch(showProblem);
  });
}

/** Shows the timeline of article id (entries oldest first) and sets up the comparison. */
export function renderHistory(entries, id) {
  wire();
  const changedArticle = current.id !== id;
  current = { id, entries };
  const list = $('#history');
  list.replaceChildren(...entries.slice().reverse().map((e) => h('li', { class: 'event', dataset: { version: e.version, event: e.event } },
    h('div', { class: 'event-head' },
      h('span', { class: 'event-name' }, EVENT_LABELS[e.event] || e.event),
      statusBadge(e.status),
      h('span', { class: 'event-version' }, `v${e.version}`)),
    h('div', { class: 'event-meta' }, `${e.actor?.name || e.actor?.id || 'someone'} (${e.actor?.role || '?'}) · `, timeEl(e.at)),
    e.comment ? h('blockquote', { class: 'event-comment' }, e.comment) : null,
    TEXT_EVENTS.includes(e.event) && e.version > 1
      ? h('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: () => compareWithPrevious(e.version).catch(showProblem) },
        `What changed in v${e.version}`)
      : null,
  )));
  const versions = entries.filter((e) => TEXT_EVENTS.includes(e.event)).map((e) => e.version);
  const options = (sel, chosen) => {
    sel.replaceChildren(...entries.map((e) => h('option', { value: e.version, selected: e.version === chosen },
      `v${e.version} · ${EVENT_LABELS[e.event] || e.event}`)));
  };
  const last = entries.length ? entries[entries.length - 1].version : 1;
  const prevText = versions.length > 1 ? versions[versions.length - 2] : 1;
  options($('#compare-from'), prevText);
  options($('#compare-to'), last);
  $('#compare').hidden = entries.length < 2;
  if (changedArticle) $('#diff').replaceChildren();
}

async function compareWithPrevious(version) {
  $('#compare-from').value = String(version - 1);
  $('#compare-to').value = String(version);
  await compare(version - 1, version);
}

async function compare(from, to) {
  const out = $('#diff');
  if (!from || !to || from === to) {
    out.replaceChildren(h('p', { class: 'hint' }, 'Choose two different versions.'));
    return;
  }
  if (from > to) [from, to] = [to, from];
  out.replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
  const [a, b] = await Promise.all([api.getArticle(current.id, from), api.getArticle(current.id, to)]);
  const diffs = fieldDiffs(a, b);
  out.replaceChildren(h('h3', { class: 'diff-title' }, `Version ${from} → version ${to}`));
  if (!diffs.length) { out.append(h('p', { class: 'hint' }, 'The text is the same in both versions.')); return; }
  for (const d of diffs) {
    out.append(h('div', { class: 'change', dataset: { field: d } }, h('h4', {}, FIELD_LABELS[d]), diffView(a[d], b[d], d)));
  }
}

/** The fields that differ between articles a and b. */
export function fieldDiffs(a, b) {
  return FIELDS.filter((f) => fieldText(f, a[f]) !== fieldText(f, b[f]));
}
