// Small DOM helpers: elements, tables that page, a confirmation dialog.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function pill(text) {
  return el('span', { class: `pill ${String(text).toLowerCase()}` }, text);
}

export function errorBox(e) {
  return el('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
}

export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ''; }, 4000);
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return 'n/a';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function cell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * A table of `rows` that pages in the browser: `columns` are
 * [header, row => content] pairs. Returns the element; `.update(rows)`
 * replaces the rows and keeps the page when it still exists.
 */
export function pagedTable(columns, rows, { pageSize = 25, empty = 'Nothing here.', id } = {}) {
  let page = 0;
  let data = rows;
  const tbody = el('tbody');
  const info = el('span', { class: 'muted' });
  const prev = el('button', { type: 'button', onclick: () => { page--; draw(); } }, 'Previous');
  const next = el('button', { type: 'button', onclick: () => { page++; draw(); } }, 'Next');
  const wrap = el('div', { id },
    el('div', { class: 'table-wrap' },
      el('table', {}, el('thead', {}, el('tr', {}, columns.map(([h]) => el('th', { scope: 'col' }, h)))), tbody)),
    el('div', { class: 'pager' }, prev, info, next));
  function draw() {
    const pages = Math.max(1, Math.ceil(data.length / pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    tbody.replaceChildren(...(data.length === 0
      ? [el('tr', {}, el('td', { colspan: columns.length, class: 'muted' }, empty))]
      : data.slice(page * pageSize, (page + 1) * pageSize).map((r) =>
        el('tr', {}, columns.map(([, f]) => {
          const v = f(r);
          return el('td', {}, v instanceof Node ? v : cell(v));
        })))));
    info.textContent = `Page ${page + 1} of ${pages} (${data.length})`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  wrap.update = (rows2) => { data = rows2; draw(); };
  draw();
  return wrap;
}

/** A table whose columns are the keys of the rows (read-only lists). */
export function autoTable(rows, opts) {
  const keys = [];
  for (const r of rows.slice(0, 50)) {
    for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  }
  return pagedTable(keys.map((k) => [k, (r) => r[k]]), rows, opts);
}

/** Asks in the page's dialog; resolves true when confirmed. */
export function confirmDialog(text, okLabel = 'Confirm') {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.returnValue = '';
    d.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

export function kv(obj) {
  return el('dl', { class: 'kv' }, Object.entries(obj).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, cell(v))]));
}
