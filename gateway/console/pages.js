// The console's pages. Each renders into `root` and may return a cleanup.
import { api, get, can, query, ApiError } from './api.js';
import { el, pill, errorBox, toast, fmtBytes, pagedTable, autoTable, confirmDialog, kv } from './ui.js';

const OFFLINE_AFTER_MS = 120000;

/** online / offline / pending / refused for any vendor's terminal. */
export function terminalStatus(t) {
  if (t.state === 'pending' || t.state === 'refused') return t.state;
  const s = t.info && typeof t.info === 'object' ? t.info.status : undefined;
  if (typeof s === 'string' && s) return s === 'online' || s === 'connected' ? 'online' : s;
  const seen = Date.parse(t.last_seen);
  return Number.isFinite(seen) && Date.now() - seen <= OFFLINE_AFTER_MS ? 'online' : 'offline';
}

async function optional(path) {
  try { return await get(path); } catch (e) { return { _error: e }; }
}

function title(text) { return el('h1', { id: 'page-title' }, text); }

// ---------------------------------------------------------------- overview
async function overview(root) {
  root.append(title('Overview'));
  const [terms, doors, ready, status] = await Promise.all([
    get('/api/v1/terminals'), optional('/api/v1/doors'), optional('/readyz'), optional('/api/v1/status')]);
  const counts = { online: 0, offline: 0, pending: 0, refused: 0 };
  for (const t of terms.terminals) counts[terminalStatus(t)] = (counts[terminalStatus(t)] || 0) + 1;
  const readyData = ready._error instanceof ApiError ? ready._error.data : ready;
  const health = readyData && readyData.status ? readyData.status : 'unknown';
  const card = (n, l, id) => el('div', { class: 'card', id }, el('div', { class: 'n' }, n), el('div', { class: 'l' }, l));
  root.append(el('div', { class: 'cards' },
    card(counts.online, 'terminals online', 'count-online'),
    card(counts.offline, 'terminals offline', 'count-offline'),
    card(counts.pending, 'pending approval', 'count-pending'),
    card(pill(health), 'health', 'health'),
    card(status._error ? 'n/a' : fmtBytes(status.disk_free_bytes), 'disk free', 'disk-free')));
  if (readyData && readyData.failing && Object.keys(readyData.failing).length) {
    root.append(el('h2', {}, 'Failing checks'), kv(readyData.failing));
  }
  root.append(el('h2', {}, 'Terminals'), pagedTable([
    ['Serial', (t) => el('a', { href: `#/terminals?sn=${encodeURIComponent(t.sn)}` }, t.sn)],
    ['Name', (t) => t.name],
    ['Status', (t) => pill(terminalStatus(t))],
    ['Vendor', (t) => t.vendor || t.flavour],
    ['Last seen', (t) => t.last_seen],
  ], terms.terminals, { pageSize: 10, empty: 'No terminal has connected yet.', id: 'overview-terminals' }));
  root.append(el('h2', {}, 'Doors'));
  root.append(doors._error ? errorBox(doors._error) : pagedTable([
    ['Terminal', (d) => d.terminal], ['Door', (d) => d.door], ['Sensor', (d) => d.sensor],
    ['Relay', (d) => d.relay], ['Terminal status', (d) => pill(d.terminal_state)],
  ], doors.doors, { pageSize: 10, empty: 'No door has reported its state.', id: 'overview-doors' }));
  root.append(el('h2', {}, 'Sink backlogs'));
  const sinks = readyData && readyData.sinks ? Object.entries(readyData.sinks) : [];
  root.append(pagedTable([
    ['Sink', ([n]) => n], ['Connected', ([, s]) => pill(s.connected ? 'connected' : 'offline')],
    ['Backlog (events)', ([, s]) => s.backlog_events], ['Oldest (s)', ([, s]) => s.backlog_oldest_age_s],
    ['Since', ([, s]) => s.since],
  ], sinks, { pageSize: 10, empty: 'No sink configured.', id: 'sinks' }));
  const timer = setInterval(async () => {
    // Refresh the figures quietly; the page stays where it is.
    try {
      const t2 = await get('/api/v1/terminals');
      const c2 = { online: 0, offline: 0, pending: 0 };
      for (const t of t2.terminals) c2[terminalStatus(t)] = (c2[terminalStatus(t)] || 0) + 1;
      for (const k of Object.keys(c2)) {
        const n = root.querySelector(`#count-${k} .n`);
        if (n) n.textContent = c2[k];
      }
      root.querySelector('#overview-terminals').update(t2.terminals);
    } catch { /* shown on the next visit */ }
  }, 5000);
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------- commands
const VERBS = ['reboot', 'info', 'check', 'log', 'open_door', 'lock_door', 'normal_open', 'close_door',
  'door_status', 'set_option', 'clear_log'];
const FINAL = new Set(['done', 'failed', 'expired', 'cancelled']);

/** Polls a command until it is final; `show(cmd)` on each change. */
function watchCommand(id, show) {
  let stop = false;
  (async () => {
    let last = '';
    for (let i = 0; i < 600 && !stop; i++) {
      try {
        const c = await get(`/api/v1/commands/${id}`);
        if (c.state !== last) { last = c.state; show(c); }
        if (FINAL.has(c.state)) return;
      } catch (e) { show({ id, state: 'unknown', error: e.message }); return; }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return () => { stop = true; };
}

function commandLine(c) {
  return el('span', { class: 'cmd', 'data-command': c.id, 'data-state': c.state },
    `#${c.id} ${c.verb || ''} `, pill(c.state),
    c.return_code !== null && c.return_code !== undefined ? ` return ${c.return_code}` : '',
    c.error ? ` ${c.error}` : '');
}

async function queueCommand(sn, verb, params) {
  const r = await api('POST', `/api/v1/terminals/${encodeURIComponent(sn)}/commands`, { verb, params });
  return r.commands ? r.commands[0] : r;
}

// --------------------------------------------------------------- terminals
async function terminals(root) {
  root.append(title('Terminals'));
  const data = await get('/api/v1/terminals');
  const detail = el('div', { id: 'terminal-detail' });
  const stops = [];
  async function setState(sn, action) {
    if (!(await confirmDialog(`${action === 'approve' ? 'Approve' : 'Refuse'} terminal ${sn}?`, action === 'approve' ? 'Approve' : 'Refuse'))) return;
    try {
      await api('POST', `/api/v1/terminals/${encodeURIComponent(sn)}/${action}`);
      toast(`${sn}: ${action === 'approve' ? 'approved' : 'refused'}`);
      const d2 = await get('/api/v1/terminals');
      table.update(d2.terminals);
    } catch (e) { toast(e.message); }
  }
  const table = pagedTable([
    ['Serial', (t) => el('button', { type: 'button', class: 'link', onclick: () => show(t.sn), 'data-sn': t.sn }, t.sn)],
    ['Name', (t) => t.name],
    ['Status', (t) => pill(terminalStatus(t))],
    ['Model', (t) => t.model || t.device_type],
    ['IP', (t) => t.ip],
    ['Events', (t) => t.counts && t.counts.events],
    ['Last seen', (t) => t.last_seen],
    ['', (t) => (t.state === 'pending' || t.state === 'refused') ? el('span', {},
      el('button', { type: 'button', class: 'primary', 'data-approve': t.sn, disabled: !can('operator'), onclick: () => setState(t.sn, 'approve') }, 'Approve'), ' ',
      t.state === 'pending' ? el('button', { type: 'button', 'data-refuse': t.sn, disabled: !can('operator'), onclick: () => setState(t.sn, 'refuse') }, 'Refuse') : null) : ''],
  ], data.terminals, { empty: 'No terminal has connected yet.', id: 'terminals-table' });
  root.append(table, detail);

  async function show(sn) {
    const d2 = await get('/api/v1/terminals');
    const t = d2.terminals.find((x) => x.sn === sn);
    if (!t) { detail.replaceChildren(errorBox(`no terminal ${sn}`)); return; }
    const verb = el('select', { id: 'cmd-verb' }, VERBS.map((v) => el('option', { value: v }, v)));
    const params = el('input', { id: 'cmd-params', value: '{}', size: 30, 'aria-label': 'parameters (JSON)' });
    const out = el('div', { id: 'cmd-status', 'aria-live': 'polite' });
    const recent = el('div');
    const form = el('form', { class: 'inline' }, el('label', {}, 'Command', verb), el('label', {}, 'Parameters (JSON)', params),
      el('button', { type: 'submit', class: 'primary', disabled: !can('operator') }, 'Queue'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let p;
      try { p = JSON.parse(params.value || '{}'); } catch { out.replaceChildren(errorBox('parameters are not JSON')); return; }
      try {
        const c = await queueCommand(sn, verb.value, p);
        out.replaceChildren(commandLine(c));
        stops.push(watchCommand(c.id, (c2) => out.replaceChildren(commandLine(c2))));
      } catch (e) { out.replaceChildren(errorBox(e)); }
    });
    const cmds = await optional(`/api/v1/commands${query({ terminal: sn, limit: 20 })}`);
    recent.replaceChildren(cmds._error ? errorBox(cmds._error) : autoTable((cmds.commands || []).map((c) => ({
      id: c.id, verb: c.verb, state: c.state, created: c.created, return: c.return_code, error: c.error })), { pageSize: 10, empty: 'No command yet.' }));
    const info = { serial: t.sn, name: t.name, state: t.state, status: terminalStatus(t), vendor: t.vendor,
      model: t.model, protocol: t.protocol, push_version: t.push_version, firmware: t.firmware, ip: t.ip,
      timezone: t.timezone, first_seen: t.first_seen, last_seen: t.last_seen, counts: t.counts, info: t.info };
    detail.replaceChildren(el('div', { class: 'panel' }, el('h2', {}, `Terminal ${sn}`), kv(info),
      el('h2', {}, 'Name and time zone'), can('admin') ? settingsForm(t) : el('p', { class: 'muted' }, 'Renaming needs the admin role.'),
      el('h2', {}, 'Queue a command'), can('operator') ? form : el('p', { class: 'muted' }, 'Commands need the operator role.'), out,
      el('h2', {}, 'Recent commands'), recent));
  }
  /** PATCH /api/v1/terminals/{sn}: the server's field errors next to each field. */
  function settingsForm(t) {
    const name = el('input', { id: 'term-name', value: t.name || '', maxlength: 64, 'aria-describedby': 'term-name-error' });
    const tz = el('input', { id: 'term-timezone', value: t.timezone || '', size: 20, placeholder: 'Europe/Berlin', 'aria-describedby': 'term-timezone-error' });
    const errs = { name: el('span', { id: 'term-name-error', class: 'field-error', role: 'alert' }),
      timezone: el('span', { id: 'term-timezone-error', class: 'field-error', role: 'alert' }) };
    const out = el('div', { id: 'term-settings-status', 'aria-live': 'polite' });
    const f = el('form', { class: 'inline', id: 'term-settings' },
      el('label', {}, 'Name', name, errs.name), el('label', {}, 'Time zone', tz, errs.timezone),
      el('button', { type: 'submit', class: 'primary' }, 'Save'));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      Object.values(errs).forEach((e) => { e.textContent = ''; });
      out.replaceChildren();
      // Empty: take back what the console set (the config file's value applies).
      const body = { name: name.value.trim() || null, timezone: tz.value.trim() || null };
      try {
        const r = await api('PATCH', `/api/v1/terminals/${encodeURIComponent(t.sn)}`, body);
        toast(`${t.sn}: saved`);
        out.replaceChildren(el('p', { class: 'muted' }, `Saved: ${r.name || '(no name)'}, ${r.timezone || 'site zone'}`));
        table.update((await get('/api/v1/terminals')).terminals);
      } catch (e) {
        const list = e.data && Array.isArray(e.data.errors) ? e.data.errors : [];
        for (const x of list) if (errs[x.field]) errs[x.field].textContent = x.message;
        if (!list.some((x) => errs[x.field])) out.replaceChildren(errorBox(e));
      }
    });
    return el('div', {}, f, out);
  }
  const want = new URLSearchParams(location.hash.split('?')[1] || '').get('sn');
  if (want) await show(want);
  return () => stops.forEach((s) => s());
}

// ------------------------------------------------------------- live events
const KINDS = ['', 'attendance', 'access', 'alarm', 'door_state', 'operation', 'enrollment', 'error_log',
  'timecard', 'decision', 'photo', 'alert', 'audit'];
const short = (t) => (t.length > 120 ? `${t.slice(0, 119)}…` : t);
const eventColumns = [
  ['Id', (e) => e.id], ['Received', (e) => e.received], ['Terminal', (e) => e.terminal],
  ['Kind', (e) => e.kind], ['User', (e) => e.pin], ['Door', (e) => (e.door === null || e.door === undefined || e.door < 0 ? '' : e.door)],
  ['Time', (e) => e.local_time], ['Detail', (e) => short(e.raw || (e.extra ? JSON.stringify(e.extra) : ''))],
];

function eventRow(e) {
  // data-shown: when this browser showed it (the browser test measures the delay).
  return el('tr', { 'data-id': e.id, 'data-kind': e.kind, 'data-received': e.received, 'data-shown': Date.now(), class: 'new' },
    eventColumns.map(([, f]) => el('td', {}, String(f(e) ?? ''))));
}

async function events(root) {
  root.append(title('Live events'));
  const f = {
    terminal: el('input', { id: 'f-terminal', size: 14 }),
    kind: el('select', { id: 'f-kind' }, KINDS.map((k) => el('option', { value: k }, k || 'any'))),
    user: el('input', { id: 'f-user', size: 8 }),
    door: el('input', { id: 'f-door', size: 4, inputmode: 'numeric' }),
  };
  const state = el('span', { id: 'stream-state', class: 'muted', 'aria-live': 'polite' }, 'connecting…');
  const form = el('form', { class: 'inline' },
    el('label', {}, 'Terminal', f.terminal), el('label', {}, 'Kind', f.kind),
    el('label', {}, 'User', f.user), el('label', {}, 'Door', f.door),
    el('button', { type: 'submit', class: 'primary' }, 'Apply'), state);
  const tbody = el('tbody', { id: 'live-body' });
  const live = el('div', { class: 'table-wrap' }, el('table', { id: 'live-table' },
    el('thead', {}, el('tr', {}, eventColumns.map(([h]) => el('th', { scope: 'col' }, h)))), tbody));
  const MAX_LIVE = 200;
  let source = null;
  function filters() {
    return { terminal: f.terminal.value.trim(), kind: f.kind.value, user: f.user.value.trim(), door: f.door.value.trim() };
  }
  function connect() {
    if (source) source.close();
    tbody.replaceChildren();
    source = new EventSource(`/api/v1/events/stream${query(filters())}`);
    source.onopen = () => { state.textContent = 'live'; };
    source.onerror = () => { state.textContent = 'reconnecting…'; };
    const onEvent = (m) => {
      const e = JSON.parse(m.data);
      tbody.prepend(eventRow(e));
      while (tbody.children.length > MAX_LIVE) tbody.lastChild.remove();
    };
    for (const k of KINDS.filter(Boolean)) source.addEventListener(k, onEvent);
    source.addEventListener('end', (m) => {
      state.textContent = `ended: ${JSON.parse(m.data).reason}`;
      source.close();
    });
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); connect(); stack.length = 0; loadHistory(0); });

  // History: pages of GET /api/v1/events?before=, newest first; "Older"
  // pages back, "Newer" returns to the page before.
  const hist = el('div', { id: 'history', 'aria-live': 'polite' });
  const stack = [];  // the `before` of each page shown, newest page first
  let nextBefore = 0;
  const newer = el('button', { type: 'button', id: 'history-newer', onclick: () => { stack.pop(); loadHistory(stack.pop() || 0); } }, 'Newer');
  const older = el('button', { type: 'button', id: 'history-older', onclick: () => loadHistory(nextBefore) }, 'Older');
  const where = el('span', { class: 'muted', id: 'history-page' });
  const size = el('select', { id: 'history-size' }, [10, 25, 100].map((n) => el('option', { value: n, selected: n === 25 }, n)));
  size.addEventListener('change', () => { stack.length = 0; loadHistory(0); });
  let seq = 0;  // only the latest request draws: a slow answer never overwrites a newer one
  async function loadHistory(before) {
    const fl = filters();
    const mine = ++seq;
    try {
      const r = await get(`/api/v1/events${query({ before, limit: size.value, terminal: fl.terminal, kind: fl.kind })}`);
      if (mine !== seq) return;
      stack.push(before);
      nextBefore = r.next_before;
      let rows = r.events;
      if (fl.user) rows = rows.filter((e) => e.pin === fl.user);
      if (fl.door) rows = rows.filter((e) => String(e.door) === fl.door);
      hist.replaceChildren(el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, eventColumns.map(([h]) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows.length ? rows.map((e) => el('tr', { 'data-id': e.id }, eventColumns.map(([, g]) => el('td', {}, String(g(e) ?? ''))))) :
          el('tr', {}, el('td', { colspan: eventColumns.length, class: 'muted' }, 'No events.'))))));
      where.textContent = `Page ${stack.length}, newest first`;
      newer.disabled = stack.length <= 1;
      older.disabled = !r.more;
    } catch (e) { if (mine === seq) hist.replaceChildren(errorBox(e)); }
  }
  root.append(form, live, el('h2', {}, 'History'), hist, el('div', { class: 'pager' }, newer, where, older,
    el('label', { class: 'inline-label' }, 'Per page', size)));
  connect();
  await loadHistory(0);
  return () => { if (source) source.close(); };
}

// ------------------------------------------------------------------- doors
async function doors(root) {
  root.append(title('Doors'));
  const [d, t] = await Promise.all([optional('/api/v1/doors'), get('/api/v1/terminals')]);
  // Doors that reported a state, and the doors of every accepted terminal.
  const rows = new Map();
  for (const x of (d.doors || [])) rows.set(`${x.terminal}/${x.door}`, x);
  for (const term of t.terminals) {
    if (term.state !== 'accepted') continue;
    const opts = term.options && typeof term.options === 'object' ? term.options : {};
    const n = Math.min(Number(opts.LockCount || (term.info && term.info.lock_count) || 1) || 1, 16);
    for (let i = 1; i <= n; i++) {
      const k = `${term.sn}/${i}`;
      if (!rows.has(k)) rows.set(k, { terminal: term.sn, door: i, sensor: null, relay: null, terminal_state: terminalStatus(term) });
    }
  }
  const out = el('div', { id: 'door-status', 'aria-live': 'polite' });
  const stops = [];
  const operator = can('operator');
  async function act(row, verb, label) {
    const params = verb === 'open_door' ? { door: row.door, seconds: 5 } : { door: row.door };
    if (!(await confirmDialog(`${label} door ${row.door} of ${row.terminal}?`, label))) return;
    try {
      const c = await queueCommand(row.terminal, verb, params);
      out.replaceChildren(commandLine(c));
      stops.push(watchCommand(c.id, (c2) => out.replaceChildren(commandLine(c2))));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  }
  const button = (row, verb, label) => el('button', {
    type: 'button', 'data-door-action': verb, 'data-terminal': row.terminal, 'data-door': row.door,
    disabled: !operator, title: operator ? undefined : 'needs the operator role',
    onclick: () => act(row, verb, label) }, label);
  if (!operator) root.append(el('p', { class: 'muted', id: 'doors-readonly' }, 'You can see the doors; acting on them needs the operator role.'));
  root.append(pagedTable([
    ['Terminal', (r) => r.terminal], ['Door', (r) => r.door], ['Sensor', (r) => r.sensor || ''],
    ['Relay', (r) => r.relay || ''], ['Terminal status', (r) => pill(r.terminal_state || 'unknown')],
    ['Actions', (r) => el('span', { class: 'toolbar' }, button(r, 'open_door', 'Open'), button(r, 'lock_door', 'Lock'), button(r, 'normal_open', 'Normal open'))],
  ], [...rows.values()], { empty: 'No door known yet.', id: 'doors-table' }), out);
  return () => stops.forEach((s) => s());
}

// -------------------------------------------------------------- attendance
function monthRange(ym) {
  const [y, m] = ym.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const mm = String(m).padStart(2, '0');
  return { from: `${y}-${mm}-01`, to: `${y}-${mm}-${String(last).padStart(2, '0')}` };
}

async function attendance(root) {
  root.append(title('Attendance'));
  const now = new Date();
  const month = el('input', { id: 'month', type: 'month', value: `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}` });
  const person = el('select', { id: 'person' }, el('option', { value: '' }, 'everyone'));
  const csv = el('a', { id: 'csv-link', class: 'button', download: '' }, 'Download CSV');
  const body = el('div', { id: 'attendance-body' });
  const form = el('form', { class: 'inline' }, el('label', {}, 'Month', month), el('label', {}, 'Person', person),
    el('button', { type: 'submit', class: 'primary' }, 'Show'), csv);
  root.append(form, body);
  async function load() {
    const r = monthRange(month.value);
    csv.href = `/api/v1/attendance/timecards${query({ from: r.from, to: r.to, format: 'csv', pin: person.value })}`;
    try {
      const rep = await get(`/api/v1/attendance/timecards${query({ from: r.from, to: r.to })}`);
      const pins = [...new Set(rep.totals.map((x) => x.pin))];
      const keep = person.value;
      person.replaceChildren(el('option', { value: '' }, 'everyone'),
        ...rep.totals.map((x) => el('option', { value: x.pin }, `${x.pin} ${x.name || ''}`)));
      person.value = pins.includes(keep) ? keep : '';
      const rows = person.value ? rep.rows.filter((x) => x.pin === person.value) : rep.rows;
      const totals = person.value ? rep.totals.filter((x) => x.pin === person.value) : rep.totals;
      body.replaceChildren(el('h2', {}, 'Totals'), pagedTable([
        ['PIN', (x) => x.pin], ['Name', (x) => x.name], ['Worked h', (x) => x.worked_hours], ['Expected h', (x) => x.expected_hours],
        ['Late', (x) => x.late_count], ['Early', (x) => x.early_count], ['Absent days', (x) => x.absence_days], ['Missing punches', (x) => x.missing_punches],
      ], totals, { pageSize: 20, empty: 'Nobody in the rules.' }),
      el('h2', {}, 'Days'), pagedTable([
        ['PIN', (x) => x.pin], ['Date', (x) => x.date], ['Kind', (x) => x.kind], ['Status', (x) => x.status],
        ['In', (x) => (x.check_in || []).filter(Boolean).join(' ')], ['Out', (x) => (x.check_out || []).filter(Boolean).join(' ')],
        ['Worked h', (x) => x.worked_hours], ['Late min', (x) => x.late_min],
      ], rows, { pageSize: 31, empty: 'No timecards this month.' }));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  person.addEventListener('change', load);
  await load();
  root.append(el('h2', {}, 'Rules'), await rulesEditor(load));
}

// The rules document (PUT /api/v1/attendance/rules): numbers as inputs, each
// list as JSON; the server's errors go next to the part they name.
const RULE_NUMBERS = ['recheck_interval_min', 'late_allowance_min', 'early_allowance_min'];
const RULE_LISTS = ['state_switch', 'periods', 'shifts', 'cycles', 'departments', 'users', 'schedules', 'holidays'];

async function rulesEditor(reloadReport) {
  const box = el('div', { id: 'rules-editor' });
  const admin = can('admin');
  const out = el('div', { id: 'rules-status', 'aria-live': 'polite' });
  const inputs = {};
  const errs = {};
  const rows = [];
  for (const k of [...RULE_NUMBERS, ...RULE_LISTS]) {
    const list = RULE_LISTS.includes(k);
    errs[k] = fieldError(`rule-${k}-error`);
    inputs[k] = list
      ? el('textarea', { id: `rule-${k}`, rows: 4, spellcheck: 'false', readonly: !admin, 'aria-describedby': `rule-${k}-error` })
      : el('input', { id: `rule-${k}`, type: 'number', step: 1, readonly: !admin, 'aria-describedby': `rule-${k}-error` });
    rows.push(el('label', { class: list ? 'wide' : undefined }, list ? `${k} (JSON)` : k, inputs[k], errs[k]));
  }
  const source = el('p', { class: 'muted', id: 'rules-source' });
  async function fill() {
    try {
      const r = await get('/api/v1/attendance/rules');
      const doc = r.rules || {};
      source.textContent = r.source === 'none' || !r.rules ? 'No rules yet.'
        : `From ${r.source}${r.file ? ` (${r.file})` : ''}${r.updated ? `, updated ${r.updated}` : ''}.`;
      for (const k of RULE_NUMBERS) inputs[k].value = doc[k] ?? '';
      for (const k of RULE_LISTS) inputs[k].value = doc[k] === undefined ? '' : JSON.stringify(doc[k], null, 1);
    } catch (e) { out.replaceChildren(errorBox(e)); }
  }
  const form = el('form', { id: 'rules-form', class: 'rules' }, rows,
    admin ? el('div', { class: 'toolbar' }, el('button', { type: 'submit', class: 'primary', id: 'rules-save' }, 'Save rules'),
      el('button', { type: 'button', onclick: () => { clear(out, ...Object.values(errs)); fill(); } }, 'Revert'))
      : el('p', { class: 'muted' }, 'Editing the rules needs the admin role.'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out, ...Object.values(errs));
    const doc = {};
    let bad = false;
    for (const k of RULE_NUMBERS) {
      const v = inputs[k].value.trim();
      if (v !== '') doc[k] = Number(v);
    }
    for (const k of RULE_LISTS) {
      const v = inputs[k].value.trim();
      if (v === '') continue;
      try { doc[k] = JSON.parse(v); } catch (e) { errs[k].textContent = `not JSON: ${e.message}`; bad = true; }
    }
    if (bad) return;
    try {
      const r = await api('PUT', '/api/v1/attendance/rules', doc);
      out.replaceChildren(el('p', { class: 'muted', id: 'rules-saved' }, r.changed ? 'Rules saved; timecards are recomputed.' : 'Rules saved (no change).'));
      await fill();
      await reloadReport();
    } catch (e) {
      // "periods[0].end" goes next to periods; what names no part goes below.
      const list = e.data && Array.isArray(e.data.errors) ? e.data.errors : [];
      const rest = [];
      for (const x of list) {
        const top = String(x.field || '').split(/[.[]/)[0];
        if (errs[top]) errs[top].append(el('span', { class: 'field-error', 'data-field': x.field }, `${x.field}: ${x.message}`));
        else rest.push(x);
      }
      if (!list.length || rest.length) out.replaceChildren(errorBox(list.length ? rest.map((x) => `${x.field || '(document)'}: ${x.message}`).join('; ') : e));
    }
  });
  await fill();
  box.append(source, form, out);
  return box;
}

// ------------------------------------------------------------------ access
const ACCESS_TABS = [
  ['Users', '/api/v1/access/users', 'users'], ['Levels', '/api/v1/access/levels', 'levels'],
  ['Time zones', '/api/v1/access/timezones', 'timezones'], ['Holidays', '/api/v1/access/holidays', 'holidays'],
  ['Doors', '/api/v1/access/doors', 'doors'], ['Anti-passback', '/api/v1/access/apb', 'positions'],
  ['Sync', '/api/v1/sync', 'terminals'],
];

function firstArray(obj, key) {
  if (Array.isArray(obj)) return obj;
  if (obj && Array.isArray(obj[key])) return obj[key];
  for (const v of Object.values(obj || {})) if (Array.isArray(v)) return v;
  return [];
}

async function access(root) {
  root.append(title('Access'));
  const panel = el('div', { id: 'access-panel' });
  const tabs = el('div', { class: 'tabs', role: 'tablist' });
  async function open(i) {
    for (const [j, b] of [...tabs.children].entries()) b.setAttribute('aria-selected', String(i === j));
    const [label, path, key] = ACCESS_TABS[i];
    panel.replaceChildren(el('p', { class: 'muted' }, `Loading ${label.toLowerCase()}…`));
    try {
      const r = await get(path);
      const rows = firstArray(r, key).map((x) => (typeof x === 'object' ? x : { value: x }));
      panel.replaceChildren(autoTable(rows, { empty: `No ${label.toLowerCase()}.` }));
    } catch (e) {
      panel.replaceChildren(errorBox(e.status === 404 ? `${label}: not enabled on this gateway` : e));
    }
  }
  ACCESS_TABS.forEach(([label], i) => tabs.append(el('button', { type: 'button', role: 'tab', onclick: () => open(i) }, label)));
  root.append(tabs, panel);
  await open(0);
}

// ---------------------------------------------------------------- settings
/** Shows a failed call: field errors next to their fields, the rest in `out`. */
function showErrors(e, fields, out) {
  const list = e && e.data && Array.isArray(e.data.errors) ? e.data.errors : [];
  let placed = false;
  for (const x of list) {
    const at = fields[x.field];
    if (at) { at.textContent = x.message; placed = true; }
  }
  if (!placed) out.replaceChildren(errorBox(e));
}
const fieldError = (id) => el('span', { id, class: 'field-error', role: 'alert' });
const clear = (...xs) => xs.forEach((x) => { if (x.replaceChildren) x.replaceChildren(); else x.textContent = ''; });

/** Accounts: list, create, role, disable/enable, reset password, delete. */
async function accountsSection() {
  const box = el('div', { id: 'accounts' });
  const out = el('div', { id: 'accounts-status', 'aria-live': 'polite' });
  const roles = ['viewer', 'operator', 'admin'];
  async function change(method, path, body, done) {
    clear(out);
    try {
      await api(method, path, body);
      toast(done);
      await reload();
    } catch (e) { out.replaceChildren(errorBox(e)); }
  }
  const table = pagedTable([
    ['Name', (u) => u.name],
    ['Role', (u) => {
      const sel = el('select', { 'aria-label': `role of ${u.name}`, 'data-user-role': u.name },
        roles.map((r) => el('option', { value: r, selected: r === u.role }, r)));
      sel.addEventListener('change', () => change('PATCH', `/api/v1/users/${encodeURIComponent(u.name)}`,
        { role: sel.value }, `${u.name}: ${sel.value}`));
      return sel;
    }],
    ['Status', (u) => pill(u.disabled ? 'disabled' : 'enabled')],
    ['Created', (u) => u.created],
    ['Actions', (u) => el('span', { class: 'toolbar' },
      el('button', { type: 'button', 'data-user-toggle': u.name, onclick: () => change('PATCH', `/api/v1/users/${encodeURIComponent(u.name)}`,
        { disabled: !u.disabled }, `${u.name}: ${u.disabled ? 'enabled' : 'disabled'}`) }, u.disabled ? 'Enable' : 'Disable'),
      el('button', { type: 'button', 'data-user-reset': u.name, onclick: () => { resetUser.value = u.name; resetPw.focus(); } }, 'Reset password'),
      el('button', { type: 'button', class: 'danger', 'data-user-delete': u.name, onclick: async () => {
        if (!(await confirmDialog(`Delete the account "${u.name}"?`, 'Delete'))) return;
        await change('DELETE', `/api/v1/users/${encodeURIComponent(u.name)}`, undefined, `${u.name}: deleted`);
      } }, 'Delete'))],
  ], [], { pageSize: 20, empty: 'No account.', id: 'users-table' });
  async function reload() {
    try { table.update(firstArray(await get('/api/v1/users'), 'users')); } catch (e) { out.replaceChildren(errorBox(e)); }
  }
  // Create
  const nName = el('input', { id: 'user-name', required: true, autocomplete: 'off', 'aria-describedby': 'user-name-error' });
  const nRole = el('select', { id: 'user-role' }, roles.map((r) => el('option', { value: r }, r)));
  const nPw = el('input', { id: 'user-password', type: 'password', required: true, autocomplete: 'new-password', 'aria-describedby': 'user-password-error' });
  const cErr = { name: fieldError('user-name-error'), role: fieldError('user-role-error'), password: fieldError('user-password-error') };
  const cOut = el('div', { id: 'user-create-status', 'aria-live': 'polite' });
  const cForm = el('form', { class: 'inline', id: 'user-create' },
    el('label', {}, 'Name', nName, cErr.name), el('label', {}, 'Role', nRole, cErr.role),
    el('label', {}, 'Password', nPw, cErr.password), el('button', { type: 'submit', class: 'primary' }, 'Create account'));
  cForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(cOut, ...Object.values(cErr));
    try {
      const r = await api('POST', '/api/v1/users', { name: nName.value.trim(), role: nRole.value, password: nPw.value });
      toast(`${r.name}: created (${r.role})`);
      nName.value = ''; nPw.value = '';
      await reload();
    } catch (e) { showErrors(e, cErr, cOut); }
  });
  // Reset another user's password
  const resetUser = el('input', { id: 'reset-user', required: true, autocomplete: 'off' });
  const resetPw = el('input', { id: 'reset-password', type: 'password', required: true, autocomplete: 'new-password', 'aria-describedby': 'reset-password-error' });
  const rErr = { password: fieldError('reset-password-error') };
  const rOut = el('div', { id: 'reset-status', 'aria-live': 'polite' });
  const rForm = el('form', { class: 'inline', id: 'user-reset' }, el('label', {}, 'Account', resetUser),
    el('label', {}, 'New password', resetPw, rErr.password), el('button', { type: 'submit' }, 'Reset password'));
  rForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(rOut, rErr.password);
    try {
      await api('POST', `/api/v1/users/${encodeURIComponent(resetUser.value.trim())}/password`, { password: resetPw.value });
      resetPw.value = '';
      rOut.replaceChildren(el('p', { class: 'muted' }, `Password of ${resetUser.value} reset; its sessions ended.`));
    } catch (e) { showErrors(e, rErr, rOut); }
  });
  await reload();
  box.append(table, out, el('h3', {}, 'New account'), cForm, cOut, el('h3', {}, 'Reset a password'), rForm, rOut);
  return box;
}

async function settings(root) {
  root.append(title('Settings'));
  if (!can('admin')) { root.append(errorBox('Settings are for administrators.')); return; }
  const cfg = await get('/api/v1/config');
  root.append(el('h2', {}, 'Accounts'), await accountsSection());
  const tokenList = el('div', { id: 'tokens' });
  async function reloadTokens() {
    const t = await get('/api/v1/tokens');
    tokenList.replaceChildren(pagedTable([
      ['Id', (x) => x.id], ['Name', (x) => x.name], ['Role', (x) => x.role], ['Created', (x) => x.created],
      ['Last used', (x) => x.last_used], ['Revoked', (x) => x.revoked],
      ['', (x) => (x.revoked ? '' : el('button', { type: 'button', onclick: async () => {
        if (!(await confirmDialog(`Revoke token "${x.name}"?`, 'Revoke'))) return;
        try { await api('DELETE', `/api/v1/tokens/${x.id}`); await reloadTokens(); } catch (e) { toast(e.message); }
      } }, 'Revoke'))],
    ], firstArray(t, 'tokens'), { pageSize: 20, empty: 'No API token.' }));
  }
  const tname = el('input', { id: 'token-name', required: true, 'aria-describedby': 'token-name-error' });
  const trole = el('select', { id: 'token-role' }, ['viewer', 'operator', 'admin'].map((r) => el('option', { value: r }, r)));
  const tErr = { name: fieldError('token-name-error'), role: fieldError('token-role-error') };
  const shown = el('div', { id: 'token-created', 'aria-live': 'polite' });
  const tform = el('form', { class: 'inline' }, el('label', {}, 'Name', tname, tErr.name), el('label', {}, 'Role', trole, tErr.role),
    el('button', { type: 'submit', class: 'primary' }, 'Create token'));
  tform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(shown, ...Object.values(tErr));
    try {
      const r = await api('POST', '/api/v1/tokens', { name: tname.value, role: trole.value });
      shown.replaceChildren(el('p', { class: 'panel' }, 'Copy it now, it is shown once: ', el('code', { class: 'mono' }, r.token)));
      await reloadTokens();
    } catch (e) { showErrors(e, tErr, shown); }
  });
  await reloadTokens();
  root.append(el('h2', {}, 'API tokens'), tform, shown, tokenList);
  root.append(el('h2', {}, 'Configuration in effect'), el('p', { class: 'muted' }, 'Secrets are masked. Edit the configuration file and restart (or SIGHUP) to change it.'),
    pagedTable([['Key', (k) => k.key], ['Value', (k) => k.value], ['Set', (k) => (k.set ? 'set' : 'default')]],
      cfg.keys, { pageSize: 50, id: 'config-table' }));
}

// ----------------------------------------------------------------- account
/** My account: any role changes its own password (POST /api/v1/users/me/password). */
async function account(root) {
  root.append(title('My account'));
  const s = await get('/api/v1/session');
  root.append(kv({ name: s.name, role: s.role }));
  const cur = el('input', { id: 'pw-current', type: 'password', required: true, autocomplete: 'current-password', 'aria-describedby': 'pw-current-error' });
  const fresh = el('input', { id: 'pw-new', type: 'password', required: true, autocomplete: 'new-password', 'aria-describedby': 'pw-new-error' });
  const errs = { current: fieldError('pw-current-error'), new: fieldError('pw-new-error') };
  const out = el('div', { id: 'pw-status', 'aria-live': 'polite' });
  const form = el('form', { class: 'inline', id: 'pw-form' }, el('label', {}, 'Current password', cur, errs.current),
    el('label', {}, 'New password', fresh, errs.new), el('button', { type: 'submit', class: 'primary' }, 'Change password'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out, ...Object.values(errs));
    try {
      await api('POST', '/api/v1/users/me/password', { current: cur.value, new: fresh.value });
      cur.value = fresh.value = '';
      out.replaceChildren(el('p', { class: 'muted' }, 'Password changed; your other sessions ended.'));
    } catch (e) { showErrors(e, errs, out); }
  });
  root.append(el('h2', {}, 'Change my password'), form, out);
}

export const pages = { overview, terminals, events, doors, attendance, access, settings, account };
