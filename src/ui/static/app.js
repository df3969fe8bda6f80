// Progressive enhancement only: every page works without this file. Adds "copy" buttons next to
// elements marked data-copy, and asks before destructive forms marked data-confirm.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const el of document.querySelectorAll('[data-copy]')) {
    if (!navigator.clipboard) break;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'copy';
    b.textContent = 'Copy';
    b.addEventListener('click', () => {
      navigator.clipboard.writeText(el.textContent || '').then(() => {
        b.textContent = 'Copied';
        setTimeout(() => (b.textContent = 'Copy'), 1500);
      });
    });
    el.insertAdjacentElement('afterend', b);
  }
  for (const f of document.querySelectorAll('form[data-confirm]')) {
    f.addEventListener('submit', (e) => {
      if (!window.confirm(f.getAttribute('data-confirm') || 'Sure?')) e.preventDefault();
    });
  }
  // Filter selects submit their form on change (the form also has a submit button without JS).
  for (const s of document.querySelectorAll('select[data-autosubmit]')) {
    s.addEventListener('change', () => s.form && s.form.submit());
  }
});
