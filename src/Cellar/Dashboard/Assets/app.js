// Cellar's dashboard: everything it shows comes from the admin API with the bearer token, which it asks for once and
// keeps in sessionStorage (this tab only). Every URL is relative, so the page works under a reverse proxy's prefix.
// Text from the API is only ever set as textContent, never parsed as HTML.
'use strict';

(() => {
  const tokenKey = 'cellar-token';
  const pollMs = 10000;
  const byId = id => document.getElementById(id);
  const charts = [];
  let timer = null;

  class Refused extends Error {}

  const token = () => sessionStorage.getItem(tokenKey);

  async function call(path, options = {}) {
    const response = await fetch('api/admin/' + path, {
      ...options,
      cache: 'no-store',
      headers: { Authorization: 'Bearer ' + token() },
    });
    if (response.status === 401 || response.status === 403) {
      throw new Refused();
    }

    return response;
  }

  async function json(response) {
    if (!response.ok) {
      throw new Error(`${response.status} ${response.statusText}`);
    }

    return response.json();
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }

    if (className) {
      node.className = className;
    }

    return node;
  }

  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }

    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) {
      return '–';
    }

    const steps = [[86400, 'd'], [3600, 'h'], [60, 'min']];
    for (const [size, unit] of steps) {
      if (seconds >= size) {
        return `${Math.floor(seconds / size)} ${unit} ago`;
      }
    }

    return 'just now';
  }

  const baseName = path => path.split('/').pop();

  function stage(backup) {
    if (!backup) {
      return '–';
    }

    if (!backup.verified) {
      return 'failed' + (backup.problem ? `: ${backup.problem}` : '');
    }

    return backup.stage === 2 ? 'full check passed' : 'quick proof passed, full check pending';
  }

  function restoreCommand(job) {
    if (job.type === 'snapshot') {
      return `cellar restore --latest ${job.job} --to /path/to/restored.sqlite`;
    }

    if (job.type === 'stream') {
      return `cellar restore --job ${job.job} --at ${new Date().toISOString()} --to /path/to/restored.sqlite`;
    }

    return null;
  }

  function failing(job) {
    return job.lastFailure && (!job.newest || new Date(job.lastFailure) > new Date(job.newest.created));
  }

  function facts(pairs) {
    const list = element('dl');
    for (const [term, value] of pairs) {
      list.append(element('dt', term), element('dd', value));
    }

    return list;
  }

  async function trigger(job, button, answer) {
    button.disabled = true;
    answer.textContent = 'asking…';
    try {
      const response = await call('jobs/' + encodeURIComponent(job), { method: 'POST' });
      const body = await response.json().catch(() => ({}));
      answer.textContent = response.ok
        ? (body.coalesced ? 'folded into the run already waiting' : 'queued')
        : (body.detail || body.title || `${response.status} ${response.statusText}`);
      setTimeout(refresh, 1500);
    } catch (e) {
      if (e instanceof Refused) {
        showLogin('The token was refused.');
        return;
      }

      answer.textContent = e.message;
    } finally {
      button.disabled = false;
    }
  }

  function history(job, backups) {
    const points = backups
      .filter(b => b.job === job.job)
      .sort((a, b) => new Date(a.created) - new Date(b.created));
    const figure = element('figure', null, 'chart');
    figure.dataset.points = String(points.length);
    const caption = element('figcaption', points.length ? 'Hover a point to name its file.' : 'No backups yet.');
    const plot = element('div', null, 'plot');
    figure.append(plot, caption);
    if (points.length === 0 || typeof uPlot === 'undefined') {
      return figure;
    }

    const x = points.map(b => new Date(b.created).getTime() / 1000);
    const size = points.map(b => b.sizeBytes / 1048576);
    const seconds = points.map(b => (b.durationMs ?? null) === null ? null : b.durationMs / 1000);
    const ratio = points.map(b => b.sourceBytes ? b.sourceBytes / b.sizeBytes : null);
    const ink = getComputedStyle(document.body).color;
    const grid = { stroke: 'rgba(128,128,128,0.25)' };
    const options = {
      width: 320,
      height: 180,
      cursor: { points: { size: 8 } },
      legend: { show: true },
      scales: { x: { time: true }, seconds: {}, ratio: {} },
      axes: [
        { stroke: ink, grid },
        { stroke: ink, grid, label: 'MiB' },
        { stroke: ink, side: 1, scale: 'seconds', grid: { show: false }, label: 's' },
      ],
      series: [
        {},
        { label: 'size (MiB)', stroke: '#2f7dd1', width: 2, points: { show: true, size: 6 } },
        { label: 'duration (s)', stroke: '#d1792f', width: 2, scale: 'seconds', points: { show: true, size: 6 } },
        { label: 'ratio', stroke: '#3a9d5d', width: 1, scale: 'ratio', points: { show: true, size: 4 } },
      ],
      hooks: {
        setCursor: [u => {
          const i = u.cursor.idx;
          caption.textContent = i === null || i === undefined
            ? 'Hover a point to name its file.'
            : `${baseName(points[i].file)} · ${bytes(points[i].sizeBytes)} · ${new Date(points[i].created).toLocaleString()}`;
        }],
      },
    };
    const chart = new uPlot(options, [x, size, seconds, ratio], plot);
    // The plot takes the width its card gives it, on a phone as on a desktop, and follows it when that changes.
    const sizes = new ResizeObserver(() => chart.setSize({ width: Math.max(160, figure.clientWidth), height: 180 }));
    sizes.observe(figure);
    charts.push({ chart, sizes });
    return figure;
  }

  function card(job, backups) {
    const article = element('article', null, 'card');
    article.dataset.job = job.job;
    const bad = failing(job) || (job.newest && !job.newest.verified);
    article.classList.add(bad ? 'failing' : 'ok');
    const title = element('h2', job.job);
    title.append(' ', element('span', job.type, 'badge'));
    article.append(title);
    article.append(element('p', bad
      ? (failing(job) ? `last run failed: ${job.lastFailureMessage ?? 'no message'}` : 'newest backup failed its check')
      : 'healthy', bad ? 'health bad' : 'health good'));
    article.append(facts([
      ['Newest', job.newest ? baseName(job.newest.file) : 'none'],
      ['Age', age(job.ageSeconds)],
      ['Verification', stage(job.newest)],
      ['Awaiting full check', String(job.awaitingFullCheck)],
      ['Kept', `${job.count} (${bytes(job.totalBytes)})`],
      ['Next run', job.nextRun ? new Date(job.nextRun).toLocaleString() : 'on demand'],
    ]));
    article.append(history(job, backups));

    const actions = element('div', null, 'actions');
    const run = element('button', 'Run now');
    run.type = 'button';
    const answer = element('span', '', 'answer');
    answer.setAttribute('role', 'status');
    run.addEventListener('click', () => trigger(job.job, run, answer));
    actions.append(run, answer);
    article.append(actions);

    const command = restoreCommand(job);
    if (command) {
      const restore = element('details');
      restore.append(element('summary', 'Restore'), element('code', command));
      article.append(restore);
    }

    return article;
  }

  function offsite(rows) {
    const section = byId('offsite');
    section.replaceChildren();
    if (rows.length === 0) {
      return;
    }

    section.append(element('h2', 'Offsite copies'));
    const table = element('table');
    const head = element('tr');
    for (const name of ['Database', 'Destination', 'Pending', 'Oldest pending']) {
      head.append(element('th', name));
    }

    table.append(head);
    for (const row of rows) {
      const line = element('tr');
      line.append(
        element('td', row.database),
        element('td', row.destination),
        element('td', String(row.pending)),
        element('td', row.oldestPendingAgeSeconds === null ? '–' : age(row.oldestPendingAgeSeconds)));
      table.append(line);
    }

    section.append(table);
  }

  function clearCharts() {
    charts.splice(0).forEach(c => {
      c.sizes.disconnect();
      c.chart.destroy();
    });
  }

  function render(status, backups) {
    const summary = byId('summary');
    summary.textContent = status.healthy ? 'All backups healthy' : `Unhealthy: ${status.reasons.join('; ')}`;
    summary.className = status.healthy ? 'good' : 'bad';
    clearCharts();
    byId('jobs').replaceChildren(...status.jobs.map(job => card(job, backups)));
    offsite(status.offsite);
  }

  async function refresh() {
    if (!token()) {
      showLogin('');
      return;
    }

    try {
      const [status, backups] = await Promise.all([call('backup-status').then(json), call('backups').then(json)]);
      byId('login').hidden = true;
      byId('login-error').textContent = '';
      byId('sign-out').hidden = false;
      render(status, backups);
      schedule();
    } catch (e) {
      if (e instanceof Refused) {
        showLogin('The token was refused.');
      } else {
        byId('summary').textContent = `Cannot reach Cellar: ${e.message}`;
        byId('summary').className = 'bad';
        schedule();
      }
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, pollMs);
  }

  function showLogin(message) {
    clearTimeout(timer);
    sessionStorage.removeItem(tokenKey);
    clearCharts();
    byId('jobs').replaceChildren();
    byId('offsite').replaceChildren();
    byId('summary').textContent = '';
    byId('sign-out').hidden = true;
    byId('login').hidden = false;
    byId('login-error').textContent = message;
  }

  byId('login').addEventListener('submit', event => {
    event.preventDefault();
    sessionStorage.setItem(tokenKey, byId('token').value);
    byId('token').value = '';
    refresh();
  });
  byId('sign-out').addEventListener('click', () => showLogin(''));
  refresh();
})();
