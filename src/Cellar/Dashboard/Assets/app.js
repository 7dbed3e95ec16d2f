// Cellar's dashboard: everything it shows comes from the admin API with the bearer token, which it asks for once and
// keeps in sessionStorage (this tab only). Every URL is relative, so the page works under a reverse proxy's prefix.
// Text from the API is only ever set as textContent, never parsed as HTML.
'use strict';

(() => {
  const tokenKey = 'cellar-token';
  const pollMs = 10000;
  const byId = id => document.getElementById(id);
  const charts = [];
  // What the last action on each job's card said, kept across the page's refreshes.
  const notes = new Map();
  // The backup picked for a check on each card, kept across refreshes as well.
  const picks = new Map();
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

  // A length of time in its largest whole unit ("3 h"); under a minute, null.
  function span(seconds) {
    const steps = [[86400, 'd'], [3600, 'h'], [60, 'min']];
    for (const [size, unit] of steps) {
      if (seconds >= size) {
        return `${Math.floor(seconds / size)} ${unit}`;
      }
    }

    return null;
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) {
      return '–';
    }

    const length = span(seconds);
    return length ? `${length} ago` : 'just now';
  }

  const waited = seconds => span(seconds) ?? 'under a minute';

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

  function facts(pairs) {
    const list = element('dl');
    for (const [term, value] of pairs) {
      list.append(element('dt', term), element('dd', value));
    }

    return list;
  }

  // Posts one of the page's actions and says how it went; the API's own words when it refuses.
  async function act(job, button, answer, path, said) {
    const tell = text => {
      notes.set(job, text);
      answer.textContent = text;
    };
    button.disabled = true;
    tell('asking…');
    try {
      const response = await call(path, { method: 'POST' });
      const body = await response.json().catch(() => ({}));
      tell(response.ok ? said(body) : (body.detail || body.title || `${response.status} ${response.statusText}`));
      setTimeout(refresh, 1500);
    } catch (e) {
      if (e instanceof Refused) {
        showLogin('The token was refused.');
        return;
      }

      tell(e.message);
    } finally {
      button.disabled = false;
    }
  }

  const ink = () => getComputedStyle(document.body).color;
  const grid = { stroke: 'rgba(128,128,128,0.25)' };
  // Time on x, from the first point to the last with room around them, a minute at least (uPlot would give a lone
  // point a thousand days, its day counted in milliseconds of a scale in seconds).
  const time = {
    time: true,
    range: u => {
      const x = u.data[0];
      const [first, last] = [x[0], x[x.length - 1]];
      const pad = Math.max((last - first) * 0.04, 60);
      return [first - pad, last + pad];
    },
  };

  // The time axis: each tick its time of day, the first one and each new day's with the date below it, so no label
  // is wider than a clock and none runs into the next, on a phone too (uPlot's own put the date and time on one line).
  const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
  const clockSeconds = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
  const day = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
  function timeLabels(u, ticks, axis, space, step) {
    let shown = null;
    return ticks.map(t => {
      const at = new Date(t * 1000);
      const date = day.format(at);
      const newDay = date !== shown;
      shown = date;
      if (step >= 86400) {
        return date;
      }

      const hour = (step < 60 ? clockSeconds : clock).format(at);
      return newDay ? `${hour}\n${date}` : hour;
    });
  }

  const timeAxis = () => ({ stroke: ink(), grid, space: 75, values: timeLabels });

  // Sizes, durations and lags from zero: backups of nearly the same size would otherwise fill the plot with their
  // last few bytes' difference.
  const fromZero = { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };

  // A figure holding one uPlot chart that takes the width its card gives it, on a phone as on a desktop, and follows
  // it when that changes; hovering a point says what it is in the caption (describe(i): the words for point i,
  // hover: what the caption says until then).
  function figure(kind, count, empty, hover, height, options, data, describe) {
    const frame = element('figure', null, `chart ${kind}`);
    frame.dataset.points = String(count);
    const hint = count ? hover : empty;
    const caption = element('figcaption', hint);
    const plot = element('div', null, 'plot');
    frame.append(plot, caption);
    if (count === 0 || typeof uPlot === 'undefined') {
      return frame;
    }

    options.width = 320;
    options.height = height;
    options.hooks = {
      setCursor: [u => {
        const i = u.cursor.idx;
        caption.textContent = i === null || i === undefined ? hint : (describe(i) ?? hint);
      }],
    };
    const chart = new uPlot(options, data, plot);
    const sizes = new ResizeObserver(() => chart.setSize({ width: Math.max(160, frame.clientWidth), height }));
    sizes.observe(frame);
    charts.push({ chart, sizes });
    return frame;
  }

  const describeBackup = b => `${baseName(b.file)} · ${bytes(b.sizeBytes)} · ${new Date(b.created).toLocaleString()}`;

  // Each backup's size, how long it took, its compression ratio and how long it held the app's writers off.
  function history(points) {
    const x = points.map(b => new Date(b.created).getTime() / 1000);
    const seconds = points.map(b => (b.durationMs ?? null) === null ? null : b.durationMs / 1000);
    const ratio = points.map(b => b.sourceBytes ? b.sourceBytes / b.sizeBytes : null);
    const held = points.map(b => b.writersHeldOffMs ?? null);
    // Offsite lag: from the backup to its last destination's confirmation, in minutes (none while one is missing).
    const lag = points.map(b => b.offsite && b.offsite.length
      ? Math.max(...b.offsite.map(o => new Date(o.confirmedAt) - new Date(b.created))) / 60000
      : null);
    const options = {
      cursor: { points: { size: 8 } },
      scales: { x: time, y: fromZero, seconds: fromZero, ratio: {}, held: {}, lag: {} },
      axes: [
        timeAxis(),
        { stroke: ink(), grid, label: 'MiB' },
        { stroke: ink(), side: 1, scale: 'seconds', grid: { show: false }, label: 's' },
      ],
      series: [
        {},
        { label: 'size (MiB)', stroke: '#2f7dd1', width: 2, points: { show: true, size: 6 } },
        { label: 'duration (s)', stroke: '#d1792f', width: 2, scale: 'seconds', points: { show: true, size: 6 } },
        { label: 'ratio', stroke: '#3a9d5d', width: 1, scale: 'ratio', points: { show: true, size: 4 } },
        { label: 'writers held (ms)', stroke: '#8e44ad', width: 1, scale: 'held', show: false, points: { show: true, size: 4 } },
        { label: 'offsite lag (min)', stroke: '#c0392b', width: 1, scale: 'lag', points: { show: true, size: 4 } },
      ],
    };
    const frame = figure('history', points.length, 'No backups yet.', 'Hover a point to name its file.', 180, options,
      [x, points.map(b => b.sizeBytes / 1048576), seconds, ratio, held, lag], i => describeBackup(points[i]));
    frame.dataset.offsitePoints = String(lag.filter(v => v !== null).length);
    return frame;
  }

  // A stream's offsite lag over the last week, a line per destination: minute by minute, how long the oldest
  // transaction waiting for it had waited (the API thins a long history to each stretch's worst).
  function lagHistory(answers) {
    const tables = answers.map(a => [a.points.map(p => new Date(p.at).getTime() / 1000), a.points.map(p => p.seconds)]);
    const count = answers.reduce((n, a) => n + a.points.length, 0);
    const drawable = count > 0 && typeof uPlot !== 'undefined';
    const data = !drawable ? [] : tables.length === 1 ? tables[0] : uPlot.join(tables);
    const colours = ['#c0392b', '#2f7dd1', '#3a9d5d', '#8e44ad'];
    const options = {
      cursor: { points: { size: 8 } },
      scales: { x: time, y: fromZero },
      axes: [timeAxis(), { stroke: ink(), grid, label: 's' }],
      series: [{}, ...answers.map((a, i) => ({
        label: `offsite lag ${a.destination} (s)`, stroke: colours[i % colours.length], width: 2, spanGaps: true,
        points: { show: true, size: 4 },
      }))],
    };
    return figure('lag', count, 'No offsite lag measured yet.', 'Hover a point for how far behind each destination was.', 140, options, data, i => {
      const at = new Date(data[0][i] * 1000).toLocaleString();
      const behind = answers.map((a, k) => [a.destination, data[k + 1][i]]).filter(([, v]) => v !== null && v !== undefined);
      return behind.map(([d, v]) => `${d}: ${v < 60 ? `${v} s` : span(v)} behind`).join(' · ') + ` · ${at}`;
    });
  }

  // Every moment the job can restore: each backup a point, each of a stream's windows a line from its first moment
  // to its last.
  function timeline(points, windows) {
    const events = points.map(b => ({ t: new Date(b.created).getTime() / 1000, backup: b }));
    for (const w of windows) {
      const from = new Date(w.from).getTime() / 1000;
      const to = new Date(w.to).getTime() / 1000;
      events.push({ t: from, window: w }, { t: to, window: w }, { t: to + 0.001 });
    }

    events.sort((a, b) => a.t - b.t);
    const inside = t => windows.some(w => new Date(w.from).getTime() / 1000 <= t && t <= new Date(w.to).getTime() / 1000);
    const options = {
      cursor: { points: { size: 8 } },
      legend: { show: false },
      scales: { x: time, y: { range: [0, 2] } },
      axes: [timeAxis(), { show: false }],
      series: [
        {},
        { label: 'backup', stroke: '#2f7dd1', width: 0, points: { show: true, size: 8, fill: '#2f7dd1' } },
        { label: 'restorable', stroke: '#3a9d5d', width: 6, points: { show: true, size: 8, fill: '#3a9d5d' } },
      ],
    };
    const data = [
      events.map(e => e.t),
      events.map(e => (e.backup ? 1 : null)),
      events.map(e => (e.backup || e.window) && inside(e.t) ? 1 : null),
    ];
    return figure('timeline', points.length + windows.length, 'Nothing to restore yet.', 'Hover a point to name what it restores.', 70, options, data, i => {
      const e = events[i];
      return e.backup ? describeBackup(e.backup)
        : e.window ? `generation ${e.window.generation}: any moment from ${new Date(e.window.from).toLocaleString()} to ${new Date(e.window.to).toLocaleString()}`
          : null;
    });
  }

  // Each offsite destination that takes the job: for a stream how far its copy reaches; for backups, those of the
  // job's database confirmed, or how many wait and since when.
  function offsiteFacts(job, offsite) {
    if (job.streamOffsite) {
      return job.streamOffsite.map(r => [`Offsite ${r.destination}`,
        (r.confirmed ? `up to ${new Date(r.confirmed).toLocaleString()}` : 'nothing yet')
        + (r.oldestPendingAgeSeconds === null ? '' : `; transactions waiting for ${waited(r.oldestPendingAgeSeconds)}`)]);
    }

    return offsite
      .filter(o => o.database === job.database && job.offsiteDestinations.includes(o.destination))
      .map(o => [`Offsite ${o.destination}`, o.pending === 0
        ? 'every backup confirmed'
        : `${o.pending} waiting, the oldest for ${waited(o.oldestPendingAgeSeconds)}`]);
  }

  function card(job, backups, offsite, lag) {
    const article = element('article', null, 'card');
    article.dataset.job = job.job;
    // The status's own reasons for this job, without the "job NAME:" the card's title already says.
    const problems = job.problems.map(p => p.replace(/^job [^:]*: /, ''));
    article.classList.add(problems.length ? 'failing' : 'ok');
    const title = element('h2', job.job);
    title.append(' ', element('span', job.type, 'badge'));
    article.append(title);
    article.append(element('p', problems.length ? problems.join('; ') : 'healthy', problems.length ? 'health bad' : 'health good'));
    const windows = job.restorable ?? [];
    article.append(facts(job.type === 'stream'
      ? [
        ['Restorable', windows.length
          ? `${new Date(windows[0].from).toLocaleString()} to ${new Date(windows[windows.length - 1].to).toLocaleString()}`
          : 'nothing yet'],
        ['Generations', String(windows.length)],
        ['Next base', job.nextRun ? new Date(job.nextRun).toLocaleString() : '–'],
        ...offsiteFacts(job, offsite),
      ]
      : [
        ['Newest', job.newest ? baseName(job.newest.file) : 'none'],
        ['Age', age(job.ageSeconds)],
        ['Verification', stage(job.newest)],
        ['Awaiting full check', String(job.awaitingFullCheck)],
        ['Kept', `${job.count} (${bytes(job.totalBytes)})`],
        ['Next run', job.nextRun ? new Date(job.nextRun).toLocaleString() : 'on demand'],
        ...offsiteFacts(job, offsite),
      ]));
    const points = backups
      .filter(b => b.job === job.job)
      .sort((a, b) => new Date(a.created) - new Date(b.created));
    if (job.type !== 'stream') {
      article.append(history(points));
    } else if (lag && lag.length) {
      article.append(lagHistory(lag));
    }

    article.append(timeline(points, windows));

    const actions = element('div', null, 'actions');
    const run = element('button', 'Run now');
    run.type = 'button';
    const answer = element('span', notes.get(job.job) ?? '', 'answer');
    answer.setAttribute('role', 'status');
    run.addEventListener('click', () => act(job.job, run, answer, 'jobs/' + encodeURIComponent(job.job), body =>
      body.coalesced ? 'folded into the run already waiting' : 'queued'));
    actions.append(run, answer);
    article.append(actions);
    if (points.length && job.type !== 'stream') {
      // The full check of any of the job's backups, newest first.
      const check = element('div', null, 'actions');
      const pick = element('select');
      pick.setAttribute('aria-label', `backup of ${job.job} to verify`);
      for (const b of [...points].reverse()) {
        const name = baseName(b.file);
        pick.append(new Option(name, name, false, picks.get(job.job) === name));
      }

      pick.addEventListener('change', () => picks.set(job.job, pick.value));

      const verify = element('button', 'Verify');
      verify.type = 'button';
      verify.addEventListener('click', () => {
        const name = pick.value;
        act(job.job, verify, answer, `jobs/${encodeURIComponent(job.job)}/verify?file=${encodeURIComponent(name)}`,
          body => body.ok ? `${name}: full check passed` : `${name}: ${body.problems.join('; ')}`);
      });
      check.append(pick, verify);
      article.append(check);
    }

    const command = restoreCommand(job);
    if (command) {
      const restore = element('details');
      restore.append(element('summary', 'Restore'), element('code', command));
      article.append(restore);
    }

    return article;
  }

  function clearCharts() {
    charts.splice(0).forEach(c => {
      c.sizes.disconnect();
      c.chart.destroy();
    });
  }

  function render(status, backups, lags) {
    const summary = byId('summary');
    summary.textContent = status.healthy ? 'All backups healthy' : `Unhealthy: ${status.reasons.join('; ')}`;
    summary.className = status.healthy ? 'good' : 'bad';
    clearCharts();
    byId('jobs').replaceChildren(...status.jobs.map(job => card(job, backups, status.offsite, lags.get(job.job))));
  }

  async function refresh() {
    if (!token()) {
      showLogin('');
      return;
    }

    try {
      const [status, backups] = await Promise.all([call('backup-status').then(json), call('backups').then(json)]);
      const lags = new Map(await Promise.all(status.jobs
        .filter(job => job.streamOffsite && job.streamOffsite.length)
        .map(async job => [job.job, await call(`jobs/${encodeURIComponent(job.job)}/offsite-lag`).then(json)])));
      byId('login').hidden = true;
      byId('login-error').textContent = '';
      byId('sign-out').hidden = false;
      render(status, backups, lags);
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
    notes.clear();
    picks.clear();
    clearCharts();
    byId('jobs').replaceChildren();
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
  // The plots take their ink from the page's colours when drawn: draw them again when the system turns dark or light.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => token() && refresh());
  refresh();
})();
