/*
 * app.js -- the faceline dashboard.  Polls GET /v1/jobs and GET /metrics every
 * second: jobs with live progress bars, throughput (frames/s from the change
 * of faceline_frames_analysed_total), queue depth, workers busy, recent
 * failures.  A click on a finished job shows its person timeline (an SVG: one
 * row per person, one bar per segment) and each person's thumbnail
 * (GET /v1/jobs/{id}/thumbnail/{person}).  Uploads go through XMLHttpRequest
 * (multipart/form-data) because fetch() reports no upload progress.
 * A bearer token, when the server wants one, is kept in localStorage.
 */
'use strict';

const POLL_MS = 1000;
const COLORS = ['#2f6fdf', '#e0663a', '#1f9d55', '#9b51e0', '#c27c0e', '#d03b3b', '#0e9fb0', '#6b7280'];
const $ = (id) => document.getElementById(id);

const state = {
	token: localStorage.getItem('faceline.token') || '',
	selected: null,          // job id whose result is shown
	shown: null,             // job id whose result is drawn
	lastFrames: null,        // {t, frames} for the throughput figure
	fps: 0,
	thumbUrls: [],
	failures: [],            // recent failed and dead jobs (GET /v1/jobs?state=...)
	polls: 0,
};

function headers(extra) {
	const h = Object.assign({}, extra || {});
	if (state.token) h['Authorization'] = 'Bearer ' + state.token;
	return h;
}

async function api(path, opts) {
	opts = opts || {};
	const r = await fetch(path, Object.assign({}, opts, { headers: headers(opts.headers), cache: 'no-store' }));
	if (r.status === 401) {
		showAuth('The server refused the token.');
		throw new Error('401');
	}
	return r;
}

function showAuth(msg) {
	$('auth').hidden = false;
	$('auth-msg').textContent = state.token ? msg : '';
}

$('auth-form').addEventListener('submit', (e) => {
	e.preventDefault();
	state.token = $('token').value.trim();
	localStorage.setItem('faceline.token', state.token);
	$('auth').hidden = true;
	poll();
});

/* ------------------------------------------------------------ formatting */

function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (k === 'class') e.className = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v);
	}
	for (const k of kids) if (k != null) e.append(k);
	return e;
}

function svg(tag, attrs) {
	const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
	return e;
}

function fmtSecs(s) {
	if (s == null || !isFinite(s)) return '–';
	if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
	const m = Math.floor(s / 60);
	return m + ':' + String(Math.round(s - 60 * m)).padStart(2, '0');
}

function fmtAgo(t) {
	if (!t) return '–';
	const d = Date.now() / 1000 - t;
	if (d < 60) return Math.max(0, Math.round(d)) + ' s ago';
	if (d < 3600) return Math.round(d / 60) + ' min ago';
	return new Date(t * 1000).toLocaleString();
}

/* --------------------------------------------------------------- metrics */

function parseMetrics(text) {
	const m = {};
	for (const line of text.split('\n')) {
		if (!line || line[0] === '#') continue;
		const sp = line.lastIndexOf(' ');
		m[line.slice(0, sp)] = parseFloat(line.slice(sp + 1));
	}
	return m;
}

function showMetrics(m) {
	const now = performance.now() / 1000;
	const frames = m['faceline_frames_analysed_total'] || 0;
	if (state.lastFrames && now > state.lastFrames.t) {
		const df = frames - state.lastFrames.frames, dt = now - state.lastFrames.t;
		/* Smooth over a few polls: frames arrive in bursts per heartbeat. */
		state.fps = 0.6 * state.fps + 0.4 * Math.max(0, df / dt);
	}
	state.lastFrames = { t: now, frames };
	const serverFps = m['faceline_analysis_fps'];
	const fps = serverFps != null && serverFps > 0 ? serverFps : state.fps;
	$('m-fps').textContent = fps.toFixed(1);
	$('m-queue').textContent = m['faceline_queue_depth'] ?? '–';
	$('m-busy').textContent = (m['faceline_workers_busy'] ?? 0) + ' / ' + (m['faceline_workers'] ?? 0);
	const ratio = m['faceline_worker_busy_ratio'];
	$('m-busy-ratio').textContent = ratio != null ? Math.round(ratio * 100) + ' % busy since start' : '';
	$('m-ok').textContent = m['faceline_jobs{state="succeeded"}'] ?? '–';
	$('m-bad').textContent = (m['faceline_jobs{state="failed"}'] || 0) + (m['faceline_jobs{state="dead"}'] || 0);
	$('m-frames').textContent = frames;
}

/* ------------------------------------------------------------------ jobs */

function progressBar(job) {
	const pct = job.state === 'succeeded' ? 100 : Math.round((job.progress || 0) * 1000) / 10;
	const bar = el('div', { class: 'bar ' + job.state });
	bar.style.width = pct + '%';
	return el('div', { class: 'progress', 'data-progress': String(pct), role: 'progressbar',
		'aria-valuenow': String(pct), 'aria-valuemin': '0', 'aria-valuemax': '100' },
	bar, el('span', { class: 'pct' }, pct.toFixed(pct < 100 ? 1 : 0) + ' %'));
}

function jobRow(job) {
	const tr = el('tr', { 'data-id': job.id, 'data-state': job.state, onclick: () => select(job.id) });
	if (job.id === state.selected) tr.className = 'selected';
	const act = el('td');
	if (job.state === 'queued' || job.state === 'running')
		act.append(el('button', { class: 'link danger', title: 'cancel this job',
			onclick: (e) => { e.stopPropagation(); cancel(job.id); } }, 'cancel'));
	else if (job.state === 'succeeded')
		act.append(el('button', { class: 'link', onclick: (e) => { e.stopPropagation(); select(job.id); } }, 'timeline'));
	tr.append(
		el('td', { class: 'id', title: job.id }, job.id.slice(0, 9) + '…'),
		el('td', { class: 'video', title: job.video }, job.video),
		el('td', {}, el('span', { class: 'state ' + job.state }, job.state)),
		el('td', {}, progressBar(job)),
		el('td', {}, job.state === 'running' ? (job.stage || '') : ''),
		el('td', {}, job.state === 'running' && job.fps ? job.fps.toFixed(1) : ''),
		el('td', {}, job.state === 'running' ? fmtSecs(job.eta) : ''),
		el('td', {}, String(job.attempts) + '/' + job.max_attempts),
		el('td', { title: job.created ? new Date(job.created * 1000).toISOString() : '' }, fmtAgo(job.created)),
		act);
	return tr;
}

function showJobs(jobs) {
	const tb = document.querySelector('#jobs tbody');
	tb.replaceChildren(...jobs.map(jobRow));
	$('jobs-empty').hidden = jobs.length > 0;
	$('jobs-count').textContent = jobs.length ? '(' + jobs.length + ' most recent)' : '';
	/* Failures among the listed jobs plus older ones fetched every few seconds. */
	const seen = new Set();
	const bad = jobs.filter((j) => j.state === 'failed' || j.state === 'dead').concat(state.failures)
		.filter((j) => !seen.has(j.id) && seen.add(j.id))
		.sort((a, b) => (b.finished || b.updated || 0) - (a.finished || a.updated || 0)).slice(0, 8);
	$('failures').replaceChildren(...bad.map((j) => el('li', {},
		el('div', {}, el('span', { class: 'state ' + j.state }, j.state), ' ', el('code', {}, j.id), ' ',
			el('span', { class: 'muted' }, j.video + ' · ' + fmtAgo(j.finished || j.updated) + ' · ' + j.attempts + ' attempt(s)')),
		el('div', { class: 'msg' }, j.error || '(no message)'))));
	$('failures-empty').hidden = bad.length > 0;
	/* A job just selected (e.g. the upload) gets its timeline once it succeeds. */
	const sel = jobs.find((j) => j.id === state.selected);
	if (sel && sel.state === 'succeeded' && state.shown !== sel.id) showResult(sel);
}

async function cancel(id) {
	try { await api('/v1/jobs/' + id, { method: 'DELETE' }); } catch (e) { /* shown by the next poll */ }
	poll();
}

function select(id) {
	state.selected = id;
	state.shown = null;
	poll();
}

/* -------------------------------------------------------------- timeline */

async function showResult(job) {
	state.shown = job.id;
	const r = await api('/v1/jobs/' + job.id + '/result?persons_only=1');
	if (!r.ok) return;
	const res = await r.json();
	if (state.selected !== job.id) return;
	$('detail').hidden = false;
	const v = res.video || {};
	const persons = res.persons || [];
	$('detail-head').textContent = job.video + ' · ' + fmtSecs(v.duration) + ' · ' + v.width + '×' + v.height +
		' · ' + persons.length + ' person' + (persons.length === 1 ? '' : 's') + ' · ' +
		((res.stats || {}).frames_analysed || 0) + ' frames analysed';
	drawTimeline(persons, v.duration || Math.max(1, ...persons.map((p) => p.last || 0)));
	for (const u of state.thumbUrls) URL.revokeObjectURL(u);
	state.thumbUrls = [];
	$('persons').replaceChildren(...persons.map((p, i) => personCard(job.id, p, i)));
}

function drawTimeline(persons, duration) {
	const rowH = 26, left = 80, right = 16, top = 8, axisH = 24, W = 900;
	const H = top + persons.length * rowH + axisH;
	const x = (t) => left + (W - left - right) * Math.min(1, Math.max(0, t / duration));
	const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'person timeline' });
	/* Time axis: about 8 ticks on round seconds. */
	const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
	const step = steps.find((st) => duration / st <= 8) || 7200;
	const axis = svg('g', { class: 'axis' });
	for (let t = 0; t <= duration + 1e-9; t += step) {
		axis.append(svg('line', { class: 'grid', x1: x(t), x2: x(t), y1: top, y2: H - axisH + 4 }));
		const lab = svg('text', { x: x(t), y: H - 6, 'text-anchor': 'middle' });
		lab.textContent = fmtSecs(t);
		axis.append(lab);
	}
	s.append(axis);
	persons.forEach((p, i) => {
		const y = top + i * rowH;
		const g = svg('g', { class: 'person-row', 'data-person': String(p.id) });
		const lab = svg('text', { class: 'row-label', x: 8, y: y + rowH / 2 + 4 });
		lab.textContent = 'Person ' + p.id;
		g.append(lab);
		for (const seg of p.segments || []) {
			const r = svg('rect', { class: 'seg', x: x(seg.start), y: y + 4, width: Math.max(2, x(seg.end) - x(seg.start)),
				height: rowH - 8, fill: COLORS[i % COLORS.length] });
			const tip = svg('title');
			tip.textContent = `Person ${p.id}: ${seg.start.toFixed(1)}–${seg.end.toFixed(1)} s`;
			r.append(tip);
			g.append(r);
		}
		s.append(g);
	});
	$('timeline').replaceChildren(s);
}

function personCard(jobId, p, i) {
	const img = el('img', { alt: 'Person ' + p.id, class: 'noimg' });
	fetch('/v1/jobs/' + jobId + '/thumbnail/' + p.id, { headers: headers() })
		.then((r) => (r.ok ? r.blob() : null))
		.then((b) => {
			if (!b) return;
			const u = URL.createObjectURL(b);
			state.thumbUrls.push(u);
			img.src = u;
			img.className = 'thumb';
		})
		.catch(() => {});
	const expr = (p.expression || {}).dominant || '';
	const sw = el('span', { class: 'swatch' });
	sw.style.background = COLORS[i % COLORS.length];
	return el('div', { class: 'person', 'data-person': String(p.id) }, img,
		el('div', {},
			el('div', {}, sw, el('strong', {}, 'Person ' + p.id)),
			el('div', { class: 'muted' }, 'on screen ' + fmtSecs(p.screen_time) + ' · ' + (p.segments || []).length + ' segment(s)'),
			el('div', { class: 'muted' }, 'first ' + fmtSecs(p.first) + ' · last ' + fmtSecs(p.last)),
			el('div', { class: 'muted' }, 'expression: ' + expr)));
}

/* ---------------------------------------------------------------- upload */

$('upload-form').addEventListener('submit', (e) => {
	e.preventDefault();
	const f = $('file').files[0];
	if (!f) return;
	const fd = new FormData();
	fd.append('fps', $('fps').value);
	fd.append('video', f, f.name);
	const xhr = new XMLHttpRequest();
	xhr.open('POST', '/v1/jobs');
	if (state.token) xhr.setRequestHeader('Authorization', 'Bearer ' + state.token);
	$('upload-btn').disabled = true;
	$('upload-msg').textContent = 'uploading…';
	xhr.upload.onprogress = (ev) => {
		if (ev.lengthComputable) $('upload-bar').style.width = (100 * ev.loaded / ev.total) + '%';
	};
	xhr.onload = () => {
		$('upload-btn').disabled = false;
		let body = null;
		try { body = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
		if (xhr.status === 201 || xhr.status === 200) {
			$('upload-msg').textContent = 'job ' + body.id + ' queued';
			$('upload-bar').style.width = '100%';
			select(body.id);
		} else {
			if (xhr.status === 401) showAuth('The server refused the token.');
			$('upload-msg').textContent = 'refused (' + xhr.status + '): ' + (body && body.error ? body.error.message : xhr.statusText);
			$('upload-bar').style.width = '0';
		}
	};
	xhr.onerror = () => {
		$('upload-btn').disabled = false;
		$('upload-msg').textContent = 'upload failed: the connection broke';
	};
	xhr.send(fd);
});

/* ------------------------------------------------------------------ poll */

let polling = false;
async function poll() {
	if (polling) return;
	polling = true;
	try {
		if (state.polls++ % 5 === 0) {
			const lists = await Promise.all(['failed', 'dead'].map((st) => api('/v1/jobs?limit=8&state=' + st)));
			state.failures = [];
			for (const r of lists) if (r.ok) state.failures.push(...((await r.json()).jobs || []));
		}
		const [jr, mr] = await Promise.all([api('/v1/jobs?limit=50'), api('/metrics')]);
		if (jr.ok) showJobs((await jr.json()).jobs || []);
		if (mr.ok) showMetrics(parseMetrics(await mr.text()));
		$('conn').textContent = 'live';
		$('conn').className = 'conn ok';
	} catch (e) {
		if (e.message !== '401') {
			$('conn').textContent = 'server unreachable';
			$('conn').className = 'conn down';
		}
	} finally {
		polling = false;
	}
}

poll();
setInterval(poll, POLL_MS);
