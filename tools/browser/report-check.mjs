// report-check.mjs -- load a faceline HTML report in headless Chromium and
// check it against the result it was made from (used by tests/cli/cli_report.c).
//
//   node tools/browser/report-check.mjs REPORT.html RESULT.json SCREENSHOT.png [--no-thumbs]
//
// Checks: the page loads with no network request other than the file itself
// (data: URIs are not requests); there is one element [data-person=ID] card
// (article.person) per person of the result and one timeline row; every
// segment K (1-based) of every person appears as a timeline bar and as a row
// of the person's segment list ([data-segment="ID-K"]), and the bar spans the
// segment's times in proportion; every thumbnail <img> decoded
// (naturalWidth > 0) unless --no-thumbs, where the "no video given" boxes
// must be there instead; the page has no console errors.  Saves a full-page
// screenshot.  Prints "ok ..." and exits 0, or prints each failure and exits 1.
// Environment: CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [reportPath, resultPath, shotPath, ...rest] = process.argv.slice(2);
if (!reportPath || !resultPath || !shotPath) {
	console.error('usage: node report-check.mjs REPORT.html RESULT.json SCREENSHOT.png [--no-thumbs]');
	process.exit(2);
}
const noThumbs = rest.includes('--no-thumbs');
const result = JSON.parse(readFileSync(resultPath, 'utf8'));
const reportUrl = pathToFileURL(resolve(reportPath)).href;

const failures = [];
const fail = (m) => failures.push(m);

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
	const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
	const requests = [];
	page.on('request', (req) => {
		const u = req.url();
		if (u !== reportUrl && !u.startsWith('data:'))
			requests.push(u);
	});
	const consoleErrors = [];
	page.on('console', (m) => {
		if (m.type() === 'error')
			consoleErrors.push(m.text());
	});
	page.on('pageerror', (e) => consoleErrors.push(String(e)));
	await page.goto(reportUrl, { waitUntil: 'load' });

	const dom = await page.evaluate(() => {
		const q = (s) => Array.from(document.querySelectorAll(s));
		const box = (el) => {
			const b = el.getBoundingClientRect();
			return { x: b.x, w: b.width };
		};
		return {
			title: document.title,
			cards: q('article.person').map((a) => a.dataset.person),
			rows: q('#timeline g.row').map((g) => g.dataset.person),
			bars: q('#timeline rect.bar').map((r) => ({ seg: r.dataset.segment, person: r.dataset.person, ...box(r) })),
			lane: (() => {
				const l = document.querySelector('#timeline rect.lane');
				return l ? box(l) : null;
			})(),
			segRows: q('tr.seg').map((t) => ({ seg: t.dataset.segment, card: t.closest('article')?.dataset.person })),
			imgs: q('.thumb img').map((i) => ({ person: i.closest('article')?.dataset.person, w: i.naturalWidth, h: i.naturalHeight, done: i.complete })),
			none: q('.thumb .none').map((d) => d.textContent),
			path: document.querySelector('header .path')?.textContent,
		};
	});

	const persons = result.persons;
	const ids = persons.map((p) => String(p.id));
	if (JSON.stringify(dom.cards) !== JSON.stringify(ids))
		fail(`person cards ${JSON.stringify(dom.cards)}, expected ${JSON.stringify(ids)}`);
	if (JSON.stringify(dom.rows) !== JSON.stringify(ids))
		fail(`timeline rows ${JSON.stringify(dom.rows)}, expected ${JSON.stringify(ids)}`);
	if (dom.path !== result.video.path)
		fail(`the header shows path ${JSON.stringify(dom.path)}, expected ${JSON.stringify(result.video.path)}`);
	const duration = result.video.duration;
	let nSeg = 0;
	for (const p of persons) {
		p.segments.forEach((s, k) => {
			const key = `${p.id}-${k + 1}`;
			nSeg++;
			const bar = dom.bars.filter((b) => b.seg === key);
			if (bar.length !== 1) {
				fail(`timeline: ${bar.length} bars for segment ${key}`);
			} else if (dom.lane && duration > 0) {
				// The bar's left edge and width in proportion to the segment's times (1.5 px slack).
				const x = dom.lane.x + (dom.lane.w * s.start) / duration;
				const w = Math.max((dom.lane.w * (s.end - s.start)) / duration, 0);
				if (Math.abs(bar[0].x - x) > 1.5 || bar[0].w + 1.5 < w || bar[0].w > w + 3)
					fail(`timeline: bar ${key} at x=${bar[0].x.toFixed(1)} w=${bar[0].w.toFixed(1)}, expected x=${x.toFixed(1)} w=${w.toFixed(1)}`);
			}
			const rows = dom.segRows.filter((r) => r.seg === key);
			if (rows.length !== 1 || rows[0].card !== String(p.id))
				fail(`segment list: segment ${key} found ${rows.length} times (card ${rows[0]?.card})`);
		});
	}
	if (dom.bars.length !== nSeg)
		fail(`timeline has ${dom.bars.length} bars, the result ${nSeg} segments`);
	if (dom.segRows.length !== nSeg)
		fail(`segment lists have ${dom.segRows.length} rows, the result ${nSeg} segments`);
	if (noThumbs) {
		if (dom.imgs.length !== 0 || dom.none.length !== persons.length)
			fail(`without a video: ${dom.imgs.length} images and ${dom.none.length} placeholders for ${persons.length} persons`);
	} else {
		if (dom.imgs.length !== persons.length)
			fail(`${dom.imgs.length} thumbnails for ${persons.length} persons`);
		for (const i of dom.imgs)
			if (!i.done || i.w <= 0 || i.h <= 0)
				fail(`the thumbnail of person ${i.person} did not decode (naturalWidth ${i.w})`);
	}
	if (requests.length)
		fail(`network requests made: ${requests.join(', ')}`);
	if (consoleErrors.length)
		fail(`console errors: ${consoleErrors.join(' | ')}`);
	await page.screenshot({ path: shotPath, fullPage: true });
	if (failures.length === 0)
		console.log(`ok ${persons.length} persons, ${nSeg} segments, ${dom.imgs.length} thumbnails, 0 requests; screenshot ${shotPath}`);
} finally {
	await browser.close();
}
for (const f of failures)
	console.log('FAIL ' + f);
process.exit(failures.length ? 1 : 0);
