// The article's fields as the desk edits and compares them: their names (as the API's), labels,
// text and word-by-word difference. The editor's conflict view and pending corrections and the
// history's comparison of versions all show a change of a field the same way.
import { h } from './dom.js';
import { diffWords } from './diff.js';
import { refsText } from './pictures.js';

/** The fields an editor edits, in the order of the form; media is the list of pictures. */
export const FIELDS = ['headline', 'summary', 'body', 'tags', 'language', 'byline', 'dateline', 'media'];
export const FIELD_LABELS = {
  headline: 'Headline', summary: 'Summary', body: 'Body', tags: 'Tags', language: 'Language', byline: 'Byline', dateline: 'Dateline', media: 'Pictures',
};

/** A field's value as text: tags joined, pictures one a line. */
export function fieldText(field, v) {
  if (field === 'tags') return (v || []).join(', ');
  if (field === 'media') return refsText(v);
  return v || '';
}

/** A word diff of one field, as <del>/<ins> in a block. */
export function diffView(before, after, field) {
  return h('div', { class: 'diff-text' }, diffWords(fieldText(field, before), fieldText(field, after)).map((r) =>
    r.op === '=' ? r.text : h(r.op === '-' ? 'del' : 'ins', {}, r.text)));
}
