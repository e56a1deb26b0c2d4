// The workflow's actions: which the role may take in which status (the domain's rules, so
// that buttons a role may not use are not shown; the server decides all the same), and what
// each asks for before it is sent.

/** The statuses in which an article may be revised (and spiked). */
export const REVISABLE = ['draft', 'changes_requested', 'in_review', 'approved', 'scheduled'];

// Each action: its label, and either run (no input) or a form and the body it sends.
export const ACTIONS = {
  submit: { label: 'Submit for review', path: 'submit', done: 'Submitted for review.' },
  'request-changes': {
    label: 'Request changes', path: 'request-changes', done: 'Changes requested.',
    form: { title: 'Request changes', hint: 'The writer sees this comment in the history.', text: 'What should change', textRequired: true, submit: 'Request changes' },
    body: (f) => ({ comment: f.text }),
  },
  approve: { label: 'Approve', path: 'approve', done: 'Approved.' },
  publish: { label: 'Publish now', path: 'publish', done: 'Published.' },
  embargo: {
    label: 'Publish under embargo', path: 'publish', done: 'Published under embargo.',
    form: { title: 'Publish under embargo', hint: 'Trusted partners receive it now; readers once the embargo ends.', until: 'Embargo until', untilRequired: true, submit: 'Publish under embargo' },
    body: (f) => ({ embargo_until: f.until }),
  },
  'move-embargo': {
    label: 'Move embargo', action: 'embargo', path: 'embargo', done: 'Embargo moved.',
    form: { title: 'Move the embargo', hint: 'A new end, later or earlier, still in the future.', until: 'Embargo until', untilRequired: true, submit: 'Move embargo' },
    body: (f) => ({ embargo_until: f.until }),
  },
  'lift-embargo': {
    label: 'Lift embargo now', path: 'lift-embargo', done: 'Embargo lifted: the article is public.',
    form: { title: 'Lift the embargo now', hint: 'Readers see the article at once, first published now.', submit: 'Lift embargo' },
  },
  schedule: {
    label: 'Schedule', path: 'schedule', done: 'Scheduled.',
    form: { title: 'Schedule publication', hint: 'Newsroom publishes it at that time (up to a year ahead). An embargo is optional.', at: 'Publish at', atRequired: true, until: 'Embargo until (optional)', submit: 'Schedule' },
    body: (f) => (f.until ? { publish_at: f.at, embargo_until: f.until } : { publish_at: f.at }),
  },
  unschedule: { label: 'Unschedule', path: 'unschedule', done: 'Unscheduled: approved again.' },
  correct: { label: 'Correct…', correct: true },
  retract: {
    label: 'Retract', path: 'retract', done: 'Retracted.',
    form: { title: 'Retract', hint: 'The article stays at its address as a notice with this public reason.', text: 'Reason (public)', textRequired: true, submit: 'Retract' },
    body: (f) => ({ reason: f.text }),
  },
  kill: {
    label: 'Kill…', path: 'kill', done: 'Killed.', danger: true,
    form: {
      title: 'Kill this article', hint: 'A legal kill: the article leaves every public view and its text is erased from the log. This cannot be undone.',
      text: 'Reason (internal)', textRequired: true, confirm: 'I understand that the text is erased for good.', submit: 'Kill article', danger: true,
    },
    body: (f) => ({ reason: f.text }),
  },
  spike: {
    label: 'Spike', path: 'spike', done: 'Spiked.', danger: true,
    form: { title: 'Spike', hint: 'The article leaves the workflow unpublished.', text: 'Reason (optional)', submit: 'Spike', danger: true },
    body: (f) => (f.text ? { reason: f.text } : {}),
  },
};

/** The actions the user's role may take on a, by name. */
export function availableActions(a, role, isAuthorOf) {
  const editor = role === 'editor' || role === 'admin';
  const s = a.status;
  const out = [];
  if ((s === 'draft' || s === 'changes_requested') && (editor || isAuthorOf)) out.push('submit');
  if (s === 'in_review' && editor) out.push('approve', 'request-changes');
  if (s === 'approved' && editor) out.push('publish', 'embargo', 'schedule');
  if (s === 'scheduled' && editor) out.push('schedule', 'unschedule');
  if (s === 'published' && editor) {
    if (!a.pending_correction) out.push('correct');
    if (a.embargo_until) out.push('move-embargo', 'lift-embargo');
    out.push('retract', 'kill');
  }
  if (s === 'retracted' && editor) out.push('kill');
  if (REVISABLE.includes(s) && (editor || isAuthorOf)) out.push('spike');
  return out;
}

