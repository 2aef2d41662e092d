// dashboard-check.mjs -- drive the `faceline serve` dashboard in headless
// Chromium (used by tests/cli/svc_dashboard.c).
//
//   node tools/browser/dashboard-check.mjs BASE_URL VIDEO OUTDIR [--persons N] [--fps F] [--token T]
//
// Opens BASE_URL/, uploads VIDEO through the page's own form (#file, the
// analysis rate #fps set to F when given, #upload-btn), then watches the new job's row: records the progress bar's
// value (data-progress) every 100 ms until the job succeeds, and waits for
// the result panel's SVG timeline to show one row per person (N rows when
// --persons is given) with a bar per segment and each person's thumbnail
// decoded.  Checks that the page made no request outside BASE_URL, that the
// metrics tiles are filled, and that the console shows no error.  Saves
// OUTDIR/dashboard-running.png (while the job runs), dashboard-done.png and
// prints one JSON line {"ok", "progress": [...], "persons", ...}; exits 0 when
// every check passed, 1 otherwise (failures listed in "failures").
// Environment: CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const [base, video, outDir] = args;
if (!base || !video || !outDir) {
	console.error('usage: node dashboard-check.mjs BASE_URL VIDEO OUTDIR [--persons N] [--fps F] [--token T]');
	process.exit(2);
}
const opt = (name) => {
	const i = args.indexOf(name);
	return i > 0 ? args[i + 1] : undefined;
};
const wantPersons = opt('--persons') ? Number(opt('--persons')) : null;
const token = opt('--token');
const fps = opt('--fps');

const failures = [];
// page.waitForFunction evaluates its predicate with eval(), which the
// dashboard's Content-Security-Policy forbids: poll with page.evaluate.
async function waitFor(page, fn, arg, timeout, what) {
	const t0 = Date.now();
	for (;;) {
		if (await page.evaluate(fn, arg)) return;
		if (Date.now() - t0 > timeout) throw new Error('timed out waiting for ' + what);
		await page.waitForTimeout(100);
	}
}
const fail = (m) => failures.push(m);
const report = { ok: false, progress: [], states: [] };

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
	const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
	const origin = new URL(base).origin;
	page.on('request', (req) => {
		const u = req.url();
		if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'))
			fail('request outside the server: ' + u);
	});
	const consoleErrors = [];
	page.on('console', (m) => {
		if (m.type() === 'error') consoleErrors.push(m.text());
	});
	page.on('pageerror', (e) => consoleErrors.push(String(e)));
	if (token) await page.addInitScript((t) => localStorage.setItem('faceline.token', t), token);
	await page.goto(base + '/', { waitUntil: 'load' });
	await page.waitForSelector('#conn.ok', { timeout: 10000 });

	// Upload through the page's form.
	await page.setInputFiles('#file', video);
	if (fps) await page.fill('#fps', fps);
	await page.click('#upload-btn');
	await waitFor(page, () => /job \S+ queued/.test(document.getElementById('upload-msg').textContent),
		null, 30000, 'the upload to be acknowledged');
	const id = (await page.textContent('#upload-msg')).match(/job (\S+) queued/)[1];
	report.job = id;
	const row = `#jobs tbody tr[data-id="${id}"]`;
	await page.waitForSelector(row, { timeout: 10000 });

	// Watch the progress bar until the job is done.
	const t0 = Date.now();
	let shotRunning = false;
	for (;;) {
		const s = await page.evaluate((sel) => {
			const tr = document.querySelector(sel);
			if (!tr) return null;
			const p = tr.querySelector('.progress');
			const bar = tr.querySelector('.progress .bar');
			return { state: tr.dataset.state, progress: Number(p.dataset.progress), width: bar.style.width };
		}, row);
		if (s) {
			const last = report.progress[report.progress.length - 1];
			if (last === undefined || last !== s.progress) report.progress.push(s.progress);
			if (report.states[report.states.length - 1] !== s.state) report.states.push(s.state);
			if (s.state === 'running' && s.progress > 0 && !shotRunning) {
				await page.screenshot({ path: outDir + '/dashboard-running.png', fullPage: true });
				shotRunning = true;
			}
			if (['succeeded', 'failed', 'dead', 'canceled'].includes(s.state)) break;
		}
		if (Date.now() - t0 > 180000) {
			fail('the job did not finish within 180 s');
			break;
		}
		await page.waitForTimeout(100);
	}
	const finalState = report.states[report.states.length - 1];
	if (finalState !== 'succeeded') fail('job ended ' + finalState);
	if (!report.states.includes('running')) fail('the row never showed "running": ' + report.states.join(','));
	const mid = report.progress.filter((p) => p > 0 && p < 100);
	if (mid.length < 1) fail('the progress bar never showed a value between 0 and 100: ' + report.progress.join(','));
	for (let i = 1; i < report.progress.length; i++)
		if (report.progress[i] < report.progress[i - 1]) fail('progress went backwards: ' + report.progress.join(','));
	if (report.progress[report.progress.length - 1] !== 100) fail('final progress is not 100');

	// The timeline of the finished job (selected by the upload).
	await page.waitForSelector('#timeline svg g.person-row', { timeout: 20000 });
	await waitFor(page, () => {
		const imgs = Array.from(document.querySelectorAll('#persons img'));
		return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
	}, null, 20000, 'thumbnails').catch(() => fail('person thumbnails did not load'));
	const dom = await page.evaluate(() => ({
		rows: document.querySelectorAll('#timeline svg g.person-row').length,
		bars: Array.from(document.querySelectorAll('#timeline svg g.person-row')).map((g) => g.querySelectorAll('rect.seg').length),
		cards: document.querySelectorAll('#persons .person').length,
		thumbs: Array.from(document.querySelectorAll('#persons img')).map((i) => i.naturalWidth),
		tiles: ['m-fps', 'm-queue', 'm-busy', 'm-ok', 'm-frames'].map((k) => document.getElementById(k).textContent),
		head: document.getElementById('detail-head').textContent,
	}));
	Object.assign(report, dom);
	report.persons = dom.rows;
	if (wantPersons !== null && dom.rows !== wantPersons) fail(`timeline has ${dom.rows} rows, want ${wantPersons}`);
	if (dom.rows < 1) fail('timeline has no person row');
	if (dom.cards !== dom.rows) fail(`${dom.cards} person cards for ${dom.rows} rows`);
	if (dom.bars.some((n) => n < 1)) fail('a person row has no segment bar');
	if (dom.tiles.some((t) => t === '–' || t === '')) fail('a metrics tile is empty: ' + dom.tiles.join(' | '));
	if (Number(dom.tiles[4]) <= 0) fail('frames analysed tile is ' + dom.tiles[4]);
	await page.screenshot({ path: outDir + '/dashboard-done.png', fullPage: true });
	if (!shotRunning) fail('never saw the job running with progress > 0 to take a screenshot');
	for (const e of consoleErrors) fail('console: ' + e);
} catch (e) {
	fail(String(e && e.stack ? e.stack : e));
} finally {
	await browser.close();
}
report.ok = failures.length === 0;
report.failures = failures;
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
