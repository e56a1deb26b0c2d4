// The article editor: fields and pictures, live preview, save (draft, then revisions with
// If-Match), the workflow actions the role and status allow, conflicts on a stale save, a
// pending correction, translations and the history.
import * as api from './api.js';
import { $, $$, h, show, statusBadge, timeEl, fromLocalInput, STATUS_LABELS } from './dom.js';
import { showProblem, clearProblem, notify, currentUser } from './feedback.js';
import { FIELDS, FIELD_LABELS, fieldText, diffView } from './fields.js';
import { renderHistory } from './history.js';
import { ACTIONS, REVISABLE, availableActions } from './actions.js';
import { initPictures, forgetPictures, setPictures, setPicturesEditable, pictureRefs, sameRefs, flagMissingAlt } from './pictures.js';

/** The fields that are form controls of their own (media is the pictures' list). */
const TEXT_FIELDS = FIELDS.filter((f) => f !== 'media');
const BLANK = { headline: '', summary: '', body: '', tags: [], language: '', byline: '', dateline: '', media: [] };

const ed = {
  id: null,          // null: a new article
  base: null,        // the article as the server last gave it
  translationOf: '', // a new translation's original
  draftKey: '',      // Idempotency-Key of a new article's draft, the same on every retry
  author: '',        // the user id that drafted it, from the history
  correcting: false, // the fields hold a correction of a published article
  conflict: null,    // {current, mine} after a 412
  action: null,      // the action whose form is open
  previewSeq: 0,
  previewTimer: 0,
  generation: 0,     // bumped on every load: late answers for an earlier article are dropped
  open: false,       // the editor is the view shown
  handedOff: false,  // a new article was drafted and the editor is moving to it: nothing is unsaved
};
let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  $('#editor').addEventListener('submit', (e) => { e.preventDefault(); save().catch(showProblem); });
  $('#editor').addEventListener('input', onInput);
  $('#reapply').addEventListener('click', () => reapply().catch(showProblem));
  $('#conflict-discard').addEventListener('click', discardMine);
  $('#action-form').addEventListener('submit', (e) => { e.preventDefault(); submitAction().catch(showProblem); });
  $('#action-cancel').addEventListener('click', closeAction);
  $('#action-form').addEventListener('keydown', (e) => { if (e.key === 'Escape') closeAction(); });
  initPictures({ onChange: updateSaveState, onDescribed: () => preview(true) });
  $('#translate').addEventListener('click', () => {
    const original = ed.base.translation_of || ed.base.id;
    location.hash = `#/articles/new?translation_of=${encodeURIComponent(original)}`;
  });
}

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b); // randomUUID needs a secure context; this does not
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Leaves the editor: drops timers and late answers. */
export function leaveEditor() {
  ed.generation++;
  ed.open = false;
  clearTimeout(ed.previewTimer);
}

/** Whether leaving now would lose edits: the editor is open on edits not saved. */
export function hasUnsavedChanges() {
  return ed.open && !ed.handedOff && (canRevise() || ed.correcting) && dirty();
}

/** Opens article id (null: a new one; params may name translation_of). */
export async function showEditor(id, params) {
  wire();
  const gen = ++ed.generation;
  Object.assign(ed, { id, base: null, author: '', correcting: false, conflict: null, action: null, translationOf: '', open: true, handedOff: false });
  show($('#conflict'), false);
  show($('#pending'), false);
  forgetPictures();
  closeAction();
  $('#diff').replaceChildren();
  if (!id) {
    ed.draftKey = randomKey();
    ed.translationOf = params.get('translation_of') || '';
    let start = BLANK;
    if (ed.translationOf) {
      try {
        const o = await api.getArticle(ed.translationOf);
        if (gen !== ed.generation) return;
        start = { ...o, language: '', media: o.media || [] }; // the original's text and pictures, to translate in place
      } catch (err) { showProblem(err); }
    }
    fill(start);
    renderHead();
    renderActions();
    for (const s of ['#workflow', '#translations-panel', '#history-panel']) show($(s), false);
    setEditable(true);
    $('#headline').focus();
    return;
  }
  let article;
  try {
    article = await api.getArticle(id);
  } catch (err) {
    if (gen !== ed.generation) return;
    ed.base = null;
    renderHead();
    fill(BLANK);
    setEditable(false);
    for (const s of ['#workflow', '#translations-panel', '#history-panel']) show($(s), false);
    showProblem(err);
    return;
  }
  if (gen !== ed.generation) return;
  ed.base = article;
  fill(article);
  await refreshHistory(gen);
  if (gen !== ed.generation) return;
  render();
}

// render redraws everything that depends on the article and the user.
function render() {
  renderHead();
  setEditable(canRevise() || ed.correcting);
  renderActions();
  renderPending();
  renderTranslations();
}

function isEditor() {
  const r = currentUser()?.role;
  return r === 'editor' || r === 'admin';
}
function isAuthor() {
  // Unknown (no history yet): offer the author's actions; the server decides.
  return !ed.author || ed.author === currentUser()?.user_id;
}
function canRevise() {
  if (!ed.base) return !ed.id;
  return REVISABLE.includes(ed.base.status) && (isEditor() || isAuthor());
}

function renderHead() {
  const a = ed.base;
  $('#editor-title').textContent = a ? (a.headline || (a.status === 'killed' ? '(killed: its text is erased)' : '(no headline)'))
    : (ed.translationOf ? 'New translation' : 'New article');
  const status = $('#status');
  status.className = 'badge' + (a ? ` badge-${a.status}` : ' badge-new');
  status.textContent = a ? a.status : 'new';
  status.title = a ? (STATUS_LABELS[a.status] || a.status) : 'Not saved yet';
  const meta = $('#meta');
  meta.replaceChildren();
  if (!a) return;
  const parts = [`version ${a.version}`, ' · updated ', timeEl(a.updated_at)];
  if (a.published_at) parts.push(' · first published ', timeEl(a.published_at));
  if (a.publish_at) parts.push(' · to be published ', timeEl(a.publish_at));
  if (a.embargo_until) parts.push(' · embargoed until ', timeEl(a.embargo_until));
  if (a.slug) parts.push(' · ', h('code', {}, a.slug));
  meta.append(...parts);
}

// Fields ---------------------------------------------------------------------------------

function fill(a) {
  $('#headline').value = a.headline || '';
  $('#summary').value = a.summary || '';
  $('#body').value = a.body || '';
  $('#tags').value = (a.tags || []).join(', ');
  $('#language').value = a.language || '';
  $('#byline').value = a.byline || '';
  $('#dateline').value = a.dateline || '';
  setPictures(a.media, canRevise() || ed.correcting);
  updateSaveState();
  preview(true); // never a preview of text the article no longer holds (a kill erases it)
}

/** The form's values, as the API names them. */
function formValues() {
  return {
    headline: $('#headline').value,
    summary: $('#summary').value,
    body: $('#body').value,
    tags: $('#tags').value.split(',').map((t) => t.trim()).filter(Boolean),
    language: $('#language').value.trim(),
    byline: $('#byline').value,
    dateline: $('#dateline').value,
    media: pictureRefs(),
  };
}

function same(field, x, y) {
  if (field === 'tags') return (x || []).join('\u0000') === (y || []).join('\u0000');
  if (field === 'media') return sameRefs(x, y);
  return (x || '') === (y || '');
}

/** The fields of values that differ from article a: a merge patch. */
export function changedFields(a, values) {
  const out = {};
  for (const f of FIELDS) if (!same(f, a[f], values[f])) out[f] = values[f];
  return out;
}

function dirty() {
  if (!ed.base) return !ed.id && FIELDS.some((f) => !same(f, BLANK[f], formValues()[f]));
  return Object.keys(changedFields(ed.base, formValues())).length > 0;
}

function setEditable(on) {
  for (const f of TEXT_FIELDS) $('#' + f).readOnly = !on;
  setPicturesEditable(on);
  show($('#save'), on && !ed.correcting);
  $('#editor').classList.toggle('is-readonly', !on);
  updateSaveState();
}

function updateSaveState() {
  const s = $('#save-state');
  if (ed.correcting) { s.textContent = 'Correcting: change the fields, then give a note below.'; return; }
  if (!canRevise()) {
    s.textContent = ed.base ? `Read-only: a ${STATUS_LABELS[ed.base.status]?.toLowerCase() || ed.base.status} article${REVISABLE.includes(ed.base.status) ? ' by another writer' : ''}.` : '';
    return;
  }
  s.textContent = dirty() ? 'Unsaved changes' : (ed.base ? 'All changes saved' : '');
}

function onInput(e) {
  updateSaveState();
  if (e.target.id === 'body') preview(false);
  else if (e.target.id === 'headline' || e.target.id === 'summary') previewHead();
}

// Preview --------------------------------------------------------------------------------

function previewHead() {
  $('#preview-headline').textContent = $('#headline').value;
  $('#preview-summary').textContent = $('#summary').value;
}

/** Renders the body with the server's sanitiser, debounced while typing. */
function preview(now) {
  previewHead();
  clearTimeout(ed.previewTimer);
  const run = async () => {
    const seq = ++ed.previewSeq;
    const body = $('#body').value;
    if (!body.trim()) { $('#preview').replaceChildren(h('p', { class: 'hint' }, 'The body appears here as readers will see it.')); return; }
    try {
      const html = await api.preview(body);
      if (seq === ed.previewSeq) $('#preview').innerHTML = html; // sanitised by the server, as on the public page
    } catch (err) {
      if (seq === ed.previewSeq) $('#preview').replaceChildren(h('p', { class: 'hint' }, `Preview unavailable: ${err.problem?.detail || err.message}`));
    }
  };
  if (now) run(); else ed.previewTimer = setTimeout(run, 300);
}

// Save and conflicts ---------------------------------------------------------------------

async function save() {
  clearProblem();
  const values = formValues();
  const button = $('#save');
  button.disabled = true;
  try {
    if (!ed.id) {
      const fields = {};
      for (const f of FIELDS) if (!same(f, BLANK[f], values[f])) fields[f] = values[f];
      if (ed.translationOf) fields.translation_of = ed.translationOf;
      const a = await api.draft(fields, ed.draftKey);
      notify('Draft saved.');
      ed.handedOff = true;
      location.replace(`#/articles/${encodeURIComponent(a.id)}`); // the editor reloads it from the log
      return;
    }
    const changes = changedFields(ed.base, values);
    if (!Object.keys(changes).length) { notify('Nothing to save.'); return; }
    await revise(ed.base.version, changes);
  } catch (err) {
    if (err.status === 412 && ed.id) { await conflict(changedFields(ed.base, values)); return; }
    showProblem(err);
  } finally {
    button.disabled = false;
  }
}

async function revise(version, changes) {
  const a = await api.revise(ed.id, version, changes);
  ed.base = a;
  // The server may have normalised a value (NFC headlines, tags): show what it recorded.
  const values = formValues();
  if (FIELDS.some((f) => !same(f, a[f], values[f]))) fill(a);
  ed.conflict = null;
  show($('#conflict'), false);
  notify(`Saved as version ${a.version}.`);
  render();
  await refreshHistory(ed.generation);
}

/** A save on a stale version: shows what was saved since, field by field, keeping the edits. */
async function conflict(mine) {
  const current = await api.getArticle(ed.id);
  ed.conflict = { current, mine };
  const rows = $('#conflict-rows');
  rows.replaceChildren();
  for (const f of FIELDS) {
    const theirs = !same(f, ed.base[f], current[f]);
    const yours = f in mine;
    if (!theirs && !yours) continue;
    rows.append(h('tr', { dataset: { field: f } },
      h('th', { scope: 'row' }, FIELD_LABELS[f]),
      h('td', {}, theirs ? diffView(ed.base[f], current[f], f) : h('span', { class: 'muted' }, 'unchanged')),
      h('td', {}, yours ? h('div', { class: 'clip' }, display(f, mine[f])) : h('span', { class: 'muted' }, 'not edited')),
    ));
  }
  const who = current.status !== ed.base.status ? ` It is now ${current.status} (was ${ed.base.status}).` : '';
  $('#conflict-intro').textContent = `You opened version ${ed.base.version}; version ${current.version} was saved since.${who} Your edits are still in the form. Re-apply them on version ${current.version}, or discard them.`;
  show($('#conflict'), true);
  showProblem({ problem: { title: 'Stale Version', detail: 'Someone else saved this article after you opened it. Nothing of yours was lost: see below.' } });
  $('#conflict-title').setAttribute('tabindex', '-1');
  $('#conflict-title').focus();
}

async function reapply() {
  const c = ed.conflict;
  if (!c) return;
  clearProblem();
  const fresh = await api.getArticle(ed.id); // the newest, should it have moved again
  // The editor's fields over the current version: what they changed, nothing else.
  const mine = changedFields(ed.base, formValues());
  ed.base = fresh;
  try {
    if (Object.keys(mine).length) {
      await revise(fresh.version, mine);
      fill(ed.base); // revise refills only a value the server changed: show its record whole
    } else { ed.conflict = null; show($('#conflict'), false); fill(fresh); render(); }
  } catch (err) {
    if (err.status === 412) { await conflict(mine); return; }
    throw err;
  }
}

function discardMine() {
  const c = ed.conflict;
  if (!c) return;
  ed.base = c.current;
  ed.conflict = null;
  fill(ed.base);
  show($('#conflict'), false);
  clearProblem();
  render();
  refreshHistory(ed.generation).catch(showProblem);
  $('#headline').focus();
}

function display(field, v) {
  return fieldText(field, v) || (field === 'tags' || field === 'media' ? '(none)' : '(empty)');
}

// Workflow -------------------------------------------------------------------------------

function renderActions() {
  const box = $('#actions');
  box.replaceChildren();
  const a = ed.base;
  show($('#workflow'), !!a);
  if (!a) return;
  const names = availableActions(a, currentUser()?.role, isAuthor());
  for (const name of names) {
    const spec = ACTIONS[name];
    const label = name === 'schedule' && a.status === 'scheduled' ? 'Reschedule' : spec.label;
    box.append(h('button', {
      type: 'button', class: 'btn' + (spec.danger ? ' btn-danger' : (name === 'publish' || name === 'approve' || name === 'submit') ? ' btn-primary' : ''),
      dataset: { action: spec.action || name }, 'data-name': name,
      onclick: () => startAction(name).catch(showProblem),
    }, label));
  }
  if (ed.correcting) {
    box.replaceChildren(h('p', { class: 'hint' }, 'Change the fields above, then give the public note.'));
  }
  if (!names.length && !ed.correcting) box.append(h('p', { class: 'hint' }, noActionsHint(a)));
}

function noActionsHint(a) {
  if (a.status === 'killed') return 'Killed: nothing more can be done.';
  if (a.status === 'spiked') return 'Spiked: out of the workflow.';
  if (!isEditor()) return 'An editor takes it from here.';
  return 'No action applies now.';
}

async function startAction(name) {
  clearProblem();
  const spec = ACTIONS[name];
  if (dirty() && !spec.correct) {
    showProblem({ problem: { title: 'Unsaved changes', detail: 'Save your changes first: an action applies to the saved version.' } });
    $('#save').focus();
    return;
  }
  if (spec.correct) { startCorrection(); return; }
  if (!spec.form) { await runAction(name, undefined); return; }
  openAction(name, spec.form);
}

function openAction(name, form, prefill = {}) {
  ed.action = name;
  $('#action-title').textContent = form.title;
  $('#action-hint').textContent = form.hint || '';
  const text = $('#action-text');
  show($('#action-text-field'), !!form.text);
  $('#action-text-label').textContent = form.text || '';
  text.value = prefill.text || '';
  text.required = !!form.textRequired;
  show($('#action-at-field'), !!form.at);
  $('#action-at').value = prefill.at || '';
  $('#action-at').required = !!form.atRequired;
  show($('#action-until-field'), !!form.until);
  $('#action-until-label').textContent = form.until || '';
  $('#action-until').value = prefill.until || '';
  $('#action-until').required = !!form.untilRequired;
  show($('#action-confirm-field'), !!form.confirm);
  $('#action-confirm-label').textContent = form.confirm || '';
  $('#action-confirm').checked = false;
  const submit = $('#action-submit');
  submit.textContent = form.submit;
  submit.className = 'btn ' + (form.danger ? 'btn-danger' : 'btn-primary');
  show($('#action-form'), true);
  const first = $$('#action-form input, #action-form textarea').find((el) => !el.closest('[hidden]'));
  (first || submit).focus();
}

function closeAction() {
  const wasOpen = !$('#action-form').hidden;
  if (wasOpen) clearProblem();
  show($('#action-form'), false);
  const name = ed.action;
  ed.action = null;
  if (ed.correcting) { ed.correcting = false; if (ed.base) { fill(ed.base); render(); } }
  if (wasOpen && name) $(`#actions [data-name="${name}"]`)?.focus();
}

async function submitAction() {
  const name = ed.action;
  if (!name) return;
  const f = { text: $('#action-text').value.trim(), at: fromLocalInput($('#action-at').value), until: fromLocalInput($('#action-until').value) };
  const missing = [];
  if ($('#action-text').required && !f.text) missing.push($('#action-text-label').textContent);
  if ($('#action-at').required && !f.at) missing.push('Publish at');
  if ($('#action-until').required && !f.until) missing.push('Embargo until');
  if (!$('#action-confirm-field').hidden && !$('#action-confirm').checked) missing.push('the confirmation');
  if (missing.length) {
    showProblem({ problem: { title: 'Missing input', detail: `Fill in: ${missing.join('; ')}.` } });
    return;
  }
  if (name === 'correct') { await submitCorrection(f.text); return; }
  const spec = ACTIONS[name];
  await runAction(name, spec.body ? spec.body(f) : undefined);
}

async function runAction(name, body, path = ACTIONS[name].path, done = ACTIONS[name].done) {
  clearProblem();
  const buttons = $$('#workflow button, #pending button');
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const a = await api.command(ed.id, ed.base.version, path, body);
    notify(done);
    await adopt(a);
    $('#status').focus(); // not the next button: Enter twice must not approve, then publish
  } catch (err) {
    if (err.status === 412) {
      // Changed since it was read: load what is there now, then say why nothing happened.
      await reload();
      showProblem(err);
      return;
    }
    showProblem(missingAlt(err));
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/** A missing-alt refusal names its images by id: the desk names them as the editor knows them,
 * and marks them in the pictures' list. */
function missingAlt(err) {
  const ids = err.problem?.media_ids;
  if (!Array.isArray(ids) || !ids.length) return err;
  const names = flagMissingAlt(ids);
  const errors = names.map((name) => ({ field: `Picture ${name}`, detail: 'needs alt text: give it with Describe… under Pictures' }));
  return { status: err.status, problem: { ...err.problem, errors } };
}

async function reload() {
  await adopt(await api.getArticle(ed.id));
}

/** Shows article a as the server has it now, after a workflow command or in its stead: an
 * action's form and a correction in progress end with it. */
async function adopt(a) {
  ed.base = a;
  ed.correcting = false;
  ed.action = null;
  show($('#action-form'), false);
  fill(a);
  render();
  await refreshHistory(ed.generation);
}

// Corrections ----------------------------------------------------------------------------

function startCorrection() {
  ed.correcting = true;
  render();
  openAction('correct', {
    title: 'Correct the published article',
    hint: 'Change the fields above, and say what was corrected. Another editor confirms a change of the text; a note alone is published at once.',
    text: 'Public note', textRequired: true, submit: 'Propose correction',
  });
  $('#headline').focus();
}

async function submitCorrection(note) {
  const changes = changedFields(ed.base, formValues());
  await runAction('correct', { ...changes, note }, 'correct',
    Object.keys(changes).length ? 'Correction proposed: another editor must confirm it.' : 'Correction note published.');
}

function renderPending() {
  const p = ed.base?.pending_correction;
  show($('#pending'), !!p);
  if (!p) return;
  const by = nameOf(p.proposed_by);
  $('#pending-meta').replaceChildren(`Proposed by ${by} `, timeEl(p.proposed_at), '. Note: ', h('q', {}, p.note));
  const changes = $('#pending-changes');
  changes.replaceChildren();
  for (const f of FIELDS) {
    if (!(f in (p.changes || {}))) continue;
    changes.append(h('div', { class: 'change' }, h('h3', {}, FIELD_LABELS[f]), diffView(ed.base[f], p.changes[f], f)));
  }
  const actions = $('#pending-actions');
  actions.replaceChildren();
  if (isEditor()) {
    if (p.proposed_by !== currentUser()?.user_id) {
      actions.append(h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'confirm-correction' },
        onclick: () => runAction('confirm-correction', undefined, 'correct/confirm', 'Correction published.').catch(showProblem) }, 'Confirm and publish'));
    } else {
      actions.append(h('p', { class: 'hint' }, 'You proposed it: another editor confirms it.'));
    }
    actions.append(h('button', { type: 'button', class: 'btn', dataset: { action: 'withdraw-correction' },
      onclick: () => runAction('withdraw-correction', undefined, 'correct/withdraw', 'Correction withdrawn.').catch(showProblem) }, 'Withdraw'));
  }
}

// Translations and history ---------------------------------------------------------------

function renderTranslations() {
  const a = ed.base;
  show($('#translations-panel'), !!a);
  if (!a) return;
  const list = $('#translations');
  list.replaceChildren();
  if (a.translation_of) {
    list.append(h('li', {}, 'Translation of ', h('a', { href: `#/articles/${encodeURIComponent(a.translation_of)}` }, 'the original')));
  }
  for (const t of a.translations || []) {
    list.append(h('li', {}, h('a', { href: `#/articles/${encodeURIComponent(t.id)}`, hreflang: t.language }, t.language), ' ', statusBadge(t.status),
      t.publish_at ? [' due ', timeEl(t.publish_at)] : null));
  }
  if (!list.children.length) list.append(h('li', { class: 'muted' }, 'No other language versions.'));
  show($('#translate'), !['spiked', 'retracted', 'killed'].includes(a.status));
}

const names = new Map(); // user id → name, from the history

function nameOf(id) { return names.get(id) || id; }

async function refreshHistory(gen) {
  if (!ed.id) return;
  let entries;
  try {
    entries = await api.history(ed.id);
  } catch (err) {
    if (gen === ed.generation) showProblem(err);
    return;
  }
  if (gen !== ed.generation) return;
  for (const e of entries) if (e.actor?.name) names.set(e.actor.id, e.actor.name);
  const drafted = entries.find((e) => e.event === 'article.drafted');
  if (drafted) ed.author = drafted.actor.id;
  show($('#history-panel'), true);
  renderHistory(entries, ed.id);
}

