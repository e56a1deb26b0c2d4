// The pictures of the article in the editor: its `media` list (which images, which is the main
// one, a caption for this article), edited here and saved with the other fields; uploads; and
// the images' own descriptions (alt text, caption, credit, copyright), which are the image's,
// not the article's, and are saved at once with PATCH /api/v1/media/{id} under If-Match.
import * as api from './api.js';
import { $, $$, h, show } from './dom.js';
import { showProblem, notify } from './feedback.js';

const pics = {
  refs: [],          // [{id, role, caption}]: the form's value of the article's `media`
  images: new Map(), // id → the image as GET /api/v1/media/{id} gives it, or {id, failed: true}
  editable: false,
  describing: '',    // the id whose description form is open
  onChange: () => {},
  onDescribed: () => {},
};
let wired = false;

/** Wires the forms once; onChange is called when the list changes, onDescribed when an
 * image's description does (the preview shows alt text). */
export function initPictures({ onChange, onDescribed }) {
  pics.onChange = onChange;
  pics.onDescribed = onDescribed;
  if (wired) return;
  wired = true;
  $('#upload-form').addEventListener('submit', (e) => { e.preventDefault(); upload().catch(problem); });
  $('#describe-form').addEventListener('submit', (e) => { e.preventDefault(); describe().catch(problem); });
  $('#describe-cancel').addEventListener('click', closeDescribe);
  $('#describe-form').addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDescribe(); });
}

function problem(err) { showProblem(err, $('#pictures-problem')); }

/** Forgets what the desk read of images: another article is opened, and descriptions may have
 * changed since they were read. */
export function forgetPictures() { pics.images.clear(); }

/** Shows refs (an article's `media`) as the form's value; editable says whether they may change. */
export function setPictures(refs, editable) {
  pics.refs = (refs || []).map((r) => ({ id: r.id, role: r.role, caption: r.caption || '' }));
  pics.editable = editable;
  closeDescribe();
  showProblem(null, $('#pictures-problem'));
  render();
  load().catch(problem);
}

export function setPicturesEditable(editable) {
  if (pics.editable === editable) return;
  pics.editable = editable;
  render();
}

/** The form's value of `media`. */
export function pictureRefs() { return pics.refs.map((r) => ({ ...r })); }

/** Whether two `media` lists are the same (a caption left out is the empty one). */
export function sameRefs(a, b) {
  const key = (refs) => JSON.stringify((refs || []).map((r) => [r.id, r.role, r.caption || '']));
  return key(a) === key(b);
}

/** A `media` list as text, one image a line, for the conflict view and pending corrections. */
export function refsText(refs) {
  return (refs || []).map((r) => `${r.role === 'main' ? 'Main' : 'Inline'}: ${nameOf(r.id, r.caption)}`).join('\n');
}

/** How the desk names an image: the caption (the article's, else its own), else its alt text. */
function nameOf(id, caption) {
  const img = pics.images.get(id);
  const words = caption || img?.caption || img?.alt;
  return words ? `“${words}”` : `image ${id}`;
}

/** Marks the images a publication was refused for (no alt text); returns their names. */
export function flagMissingAlt(ids) {
  for (const li of $$('#pictures-list [data-media-id]')) li.classList.toggle('is-flagged', ids.includes(li.dataset.mediaId));
  return ids.map((id) => nameOf(id, pics.refs.find((r) => r.id === id)?.caption));
}

// load fetches what the desk does not know yet of the listed images.
async function load() {
  const missing = pics.refs.filter((r) => !pics.images.has(r.id)).map((r) => r.id);
  await Promise.all(missing.map(async (id) => {
    try {
      pics.images.set(id, await api.getMedia(id));
    } catch (err) {
      pics.images.set(id, { id, failed: true, problem: err.problem });
    }
  }));
  if (missing.length) render();
}

function thumbnail(img) {
  const r = (img.renditions || []).find((x) => x.name === '320') || (img.renditions || [])[0];
  if (!r) return h('div', { class: 'thumb thumb-missing' }, img.failed ? 'Unavailable' : 'Loading…');
  return h('img', { class: 'thumb', src: r.href, width: r.width, height: r.height, alt: '' });
}

function render() {
  const list = $('#pictures-list');
  // The list is drawn anew: a control that had the focus gets it back (by its id).
  const focused = list.contains(document.activeElement) ? document.activeElement.id : '';
  list.replaceChildren(...pics.refs.map((ref, i) => item(ref, i)));
  show($('#pictures-empty'), !pics.refs.length);
  show($('#upload-form'), pics.editable);
  show($('#pictures-hint'), pics.editable);
  if (focused) document.getElementById(focused)?.focus();
}

function item(ref, i) {
  const img = pics.images.get(ref.id) || { id: ref.id };
  const loaded = !!img.renditions;
  const words = `pic-words-${i}`;
  const needsAlt = loaded && !img.alt;
  const info = h('div', { class: 'picture-info' },
    h('p', { class: 'picture-words', id: words },
      h('strong', {}, img.caption || (loaded ? '(no caption)' : img.failed ? `Image ${ref.id}` : 'Loading…')),
      img.credit ? [' · ', img.credit] : null,
      img.copyright ? [' · © ', img.copyright] : null),
    h('p', { class: 'picture-alt' }, needsAlt
      ? h('span', { class: 'flag flag-alert' }, 'needs alt text')
      : loaded ? ['Alt text: ', h('q', {}, img.alt)] : null,
    ref.role === 'main' ? h('span', { class: 'flag flag-quiet' }, 'main image') : null),
    img.failed ? h('p', { class: 'hint' }, img.problem?.detail || 'This image could not be read.') : null);
  if (pics.editable) {
    info.append(
      h('div', { class: 'field-row' },
        h('div', { class: 'field field-narrow' },
          h('label', { for: `pic-role-${i}` }, 'Use as'),
          h('select', { id: `pic-role-${i}`, 'aria-describedby': words, onchange: (e) => setRole(i, e.target.value) },
            h('option', { value: 'main', selected: ref.role === 'main' }, 'Main image'),
            h('option', { value: 'inline', selected: ref.role !== 'main' }, 'Inline'))),
        h('div', { class: 'field' },
          h('label', { for: `pic-caption-${i}` }, 'Caption in this article ', h('span', { class: 'label-hint' }, 'empty: the image’s own')),
          h('input', { id: `pic-caption-${i}`, type: 'text', value: ref.caption, autocomplete: 'off', 'aria-describedby': words,
            oninput: (e) => { pics.refs[i].caption = e.target.value; pics.onChange(); } }))),
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'btn btn-small', id: `pic-insert-${i}`, 'aria-describedby': words, onclick: () => insert(i) }, 'Insert in body'),
        loaded ? h('button', { type: 'button', class: 'btn btn-small', id: `pic-describe-${i}`, 'aria-describedby': words, onclick: () => openDescribe(ref.id, i) }, 'Describe…') : null,
        h('button', { type: 'button', class: 'btn btn-small btn-danger', id: `pic-remove-${i}`, 'aria-describedby': words, onclick: () => remove(i) }, 'Remove from article')));
  }
  return h('li', { class: 'picture' + (needsAlt ? ' needs-alt' : ''), tabindex: '-1', dataset: { mediaId: ref.id, role: ref.role } }, thumbnail(img), info);
}

function setRole(i, role) {
  // At most one main image: choosing one makes the former main image inline.
  pics.refs.forEach((r, j) => { if (role === 'main' && j !== i && r.role === 'main') r.role = 'inline'; });
  pics.refs[i].role = role;
  render();
  pics.onChange();
}

function remove(i) {
  pics.refs.splice(i, 1);
  render();
  pics.onChange();
  const next = $$('#pictures-list [data-media-id]')[Math.min(i, pics.refs.length - 1)];
  (next || $('#upload-file')).focus();
  notify('Picture removed from the article: save to keep the change.');
}

/** Places ![alt](media:<id>) in the body where its cursor was, on a line of its own. */
function insert(i) {
  const ref = pics.refs[i];
  const img = pics.images.get(ref.id) || {};
  const alt = (img.alt || '').replace(/[[\]\n]/g, ' ').trim();
  const body = $('#body');
  const at = body.selectionStart ?? body.value.length;
  const before = body.value.slice(0, at), after = body.value.slice(body.selectionEnd ?? at);
  const text = (before && !before.endsWith('\n\n') ? (before.endsWith('\n') ? '\n' : '\n\n') : '') +
    `![${alt}](media:${ref.id})` + (after.startsWith('\n\n') ? '' : after.startsWith('\n') ? '\n' : '\n\n');
  body.focus();
  body.setRangeText(text, at, body.selectionEnd ?? at, 'end');
  body.dispatchEvent(new Event('input', { bubbles: true })); // the preview and the save state follow
}

async function upload() {
  const form = $('#upload-form');
  showProblem(null, $('#pictures-problem'));
  if (!$('#upload-file').files.length) {
    problem({ problem: { title: 'No file chosen', detail: 'Choose an image file (JPEG, PNG, GIF or WebP) to upload.' } });
    $('#upload-file').focus();
    return;
  }
  const button = $('#upload-submit');
  button.disabled = true;
  try {
    const up = await api.uploadMedia(new FormData(form));
    // The article's save checks its images against the media view: wait for it to hold this one.
    pics.images.set(up.id, await api.getMedia(up.id));
    pics.refs.push({ id: up.id, role: pics.refs.some((r) => r.role === 'main') ? 'inline' : 'main', caption: '' });
    form.reset();
    render();
    pics.onChange();
    notify('Picture uploaded and attached: save the article to keep it attached.');
    $(`#pictures-list [data-media-id="${CSS.escape(up.id)}"]`)?.focus();
  } catch (err) {
    problem(err);
    $('#upload-file').focus();
  } finally {
    button.disabled = false;
  }
}

const DESCRIPTION = ['alt', 'caption', 'credit', 'copyright'];

function openDescribe(id, i) {
  const img = pics.images.get(id);
  pics.describing = id;
  for (const f of DESCRIPTION) $(`#describe-${f}`).value = img[f] || '';
  $('#describe-title').textContent = `Describe ${nameOf(id, '')}`;
  $('#describe-form').dataset.index = i;
  show($('#describe-form'), true);
  $('#describe-alt').focus();
}

function closeDescribe() {
  const form = $('#describe-form');
  if (form.hidden) return;
  show(form, false);
  pics.describing = '';
  $(`#pic-describe-${form.dataset.index}`)?.focus();
}

async function describe() {
  const id = pics.describing;
  const img = pics.images.get(id);
  if (!id || !img) return;
  showProblem(null, $('#pictures-problem'));
  const changes = {};
  for (const f of DESCRIPTION) {
    const v = $(`#describe-${f}`).value;
    if (v !== (img[f] || '')) changes[f] = v;
  }
  if (!Object.keys(changes).length) { closeDescribe(); return; }
  try {
    pics.images.set(id, await api.describeMedia(id, img.version, changes));
  } catch (err) {
    if (err.status === 412) {
      // Described by someone else since: show theirs, keep the form open with these edits.
      pics.images.set(id, await api.getMedia(id));
      render();
    }
    problem(err);
    return;
  }
  render();
  closeDescribe();
  pics.onDescribed();
  notify('Picture described.');
}
