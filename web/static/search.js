// The user search in the header (ARIA combobox with a listbox popup): each word typed
// must begin a word of the user's name or e-mail address, or the text is their id
// (GET /api/users?q=). "/" focuses it from anywhere that is not a text field; arrow
// keys move through the matches, Enter opens the profile, Escape closes the list.

import { clear, h } from './dom.js';
import { getJSON } from './api.js';
import { t } from './i18n.js';

const WAIT_MS = 150;      // typing pauses this long before a search goes out

export function initSearch({ input, list, status, open }) {
  let timer = null;
  let asked = null;        // the AbortController of the search in flight
  let matches = [];
  let active = -1;

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function mark(index) {
    active = index;
    list.querySelectorAll('[role="option"]').forEach((el, i) => {
      el.setAttribute('aria-selected', i === index ? 'true' : 'false');
    });
    if (index >= 0) input.setAttribute('aria-activedescendant', `user-match-${index}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function choose(index) {
    const user = matches[index];
    if (!user) return;
    close();
    input.value = '';
    input.blur();
    open(user.id);
  }

  function show(query, users) {
    matches = users;
    clear(list);
    users.forEach((user, i) => {
      list.appendChild(h('li', {
        id: `user-match-${i}`, role: 'option', 'aria-selected': 'false', class: 'match',
        onmousedown: (event) => { event.preventDefault(); choose(i); },
      }, h('span', { class: 'match-name' }, user.name || user.email || `#${user.id}`),
      h('span', { class: 'match-email' }, user.email || ''),
      h('span', { class: 'match-id' }, `#${user.id}`)));
    });
    if (!users.length) list.appendChild(h('li', { class: 'match-none', role: 'presentation' },
      t('search.none', { q: query })));
    status.textContent = t('search.count', { n: users.length });
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    mark(users.length ? 0 : -1);
  }

  async function search(query) {
    if (asked) asked.abort();
    asked = new AbortController();
    try {
      const found = await getJSON(`/api/users?q=${encodeURIComponent(query)}`,
        { signal: asked.signal });
      if (input.value.trim() === query) show(query, found.users);
    } catch (error) {
      if (error.name === 'AbortError') return;
      matches = [];
      clear(list);
      list.appendChild(h('li', { class: 'match-none', role: 'presentation' },
        t('search.failed')));
      list.hidden = false;
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const query = input.value.trim();
    if (!query) { close(); return; }
    timer = setTimeout(() => search(query), WAIT_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' && matches.length) {
      event.preventDefault();
      mark((active + 1) % matches.length);
    } else if (event.key === 'ArrowUp' && matches.length) {
      event.preventDefault();
      mark((active - 1 + matches.length) % matches.length);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      choose(active >= 0 ? active : 0);
    } else if (event.key === 'Escape') {
      close();
      input.blur();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
  document.addEventListener('keydown', (event) => {
    const target = event.target;
    const typing = target instanceof HTMLElement
      && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
}
