import { h } from './dom.js';

let seq = 0;

export interface DialogOptions {
  title: string;
  /** What happens, read out when the dialog opens (aria-describedby). */
  description: string;
  fields: Node[];
  submitLabel: string;
  /** The element that opened the dialog: focus returns to it when the dialog closes. */
  opener: HTMLElement;
  /** Resolve to close the dialog; throw an Error to show its message in the dialog and keep it open. */
  onSubmit: (dialog: HTMLDialogElement) => Promise<void>;
}

/**
 * A modal dialog on the native `<dialog>` element: the browser keeps focus inside it, Escape closes it and the
 * page behind is inert. Labelled by its heading and described by its text; the first field gets focus; errors
 * are announced (role=alert); focus returns to the opener on close. Fits a 375 px screen.
 */
export function openDialog(opts: DialogOptions): HTMLDialogElement {
  const id = `dlg-${++seq}`;
  const error = h('p', { class: 'error', role: 'alert', id: `${id}-error` });
  const submit = h('button', { type: 'submit' }, opts.submitLabel);
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = h(
    'form',
    { class: 'dialog-form' },
    h('h2', { id: `${id}-title` }, opts.title),
    h('p', { id: `${id}-desc` }, opts.description),
    ...opts.fields,
    error,
    h('div', { class: 'actions' }, cancel, submit),
  );
  const dialog = h(
    'dialog',
    { class: 'modal', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-desc` },
    form,
  );
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opts.opener.isConnected) opts.opener.focus();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    opts
      .onSubmit(dialog)
      .then(() => dialog.close())
      .catch((err: unknown) => {
        error.textContent = err instanceof Error ? err.message : 'Something went wrong.';
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = form.querySelector<HTMLElement>('input, select, textarea');
  (first ?? submit).focus();
  return dialog;
}

/** A labelled field: label, control and an optional hint tied to it with aria-describedby. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${++seq}`;
  control.id = id;
  const small = hint ? h('small', { id: `${id}-hint` }, hint) : null;
  if (small) control.setAttribute('aria-describedby', small.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, small);
}

/** A <select> of reason codes with human labels; none chosen until the user picks one. */
export function reasonSelect(reasons: Record<string, string>): HTMLSelectElement {
  return h(
    'select',
    { required: true },
    h('option', { value: '' }, 'Choose a reason…'),
    ...Object.entries(reasons).map(([value, label]) => h('option', { value }, label)),
  );
}
