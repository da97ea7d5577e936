#!/usr/bin/env node
// SPDX-License-Identifier: BSD-2-Clause
// Opens a pyspy-bpf flame graph SVG from file:// in headless Chromium and
// uses it as a person would: the hot function is there with its share, a
// click zooms (widths change) and Reset Zoom undoes it, Ctrl-F searches by
// regular expression and the Search button by plain text, both highlighting
// exactly the matching frames and showing the matched percentage.
//
// usage: check_flamegraph.mjs FILE.svg [--hot FUNCTION] [--min-share F]
//                             [--screenshot OUT.png]
import path from 'node:path';
import { launch, watchErrors, parseArgs, check } from './browser.mjs';

const args = parseArgs(process.argv.slice(2), ['hot', 'min-share', 'screenshot']);
if (args._.length !== 1) {
	console.error('usage: check_flamegraph.mjs FILE.svg [--hot FUNCTION] [--min-share F] [--screenshot OUT.png]');
	process.exit(2);
}
const file = path.resolve(args._[0]);
const HIGHLIGHT = 'rgb(230,0,230)';

// Every frame as the page shows it now.
function frames(page) {
	return page.evaluate(() => Array.from(document.querySelectorAll('#frames > g'), (g, i) => {
		const r = g.children[1];
		return {
			i,
			label: g.firstElementChild.textContent.replace(/ \([\d,]+ samples?, [\d.]+%\)$/, ''),
			x: +g.getAttribute('data-x'),
			w: +g.getAttribute('data-w'),
			y: +r.getAttribute('y'),
			px: +r.getAttribute('x'),
			width: +r.getAttribute('width'),
			fill: r.getAttribute('fill'),
			hidden: g.classList.contains('hide'),
			parent: g.classList.contains('parent'),
			match: g.classList.contains('match'),
			text: g.children[2].textContent,
		};
	}));
}

// The share of samples under frames whose label matches: nested matches once.
function share(fs, total, pred) {
	const r = fs.filter((f) => f.i > 0 && pred(f)).map((f) => [f.x, f.x + f.w]);
	r.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
	let sum = 0, end = -1;
	for (const [a, b] of r) {
		if (b <= end)
			continue;
		sum += b - Math.max(a, end);
		end = b;
	}
	return total ? sum / total : 0;
}

const fn = (label) => label.replace(/ \([^()]*\)$/, '');
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function main() {
	const t0 = Date.now();
	const b = await launch();
	try {
		const page = await b.context.newPage();
		const errors = watchErrors(page);
		await page.goto('file://' + file);
		await page.waitForFunction(() => window.flamegraph !== undefined, null, { timeout: 30000 });
		const loadMs = Date.now() - t0;
		const initial = await frames(page);
		check(initial.length > 1, 'no frames besides the root');
		const root = initial[0];
		const full = root.width;
		check(root.label === 'all' && root.x === 0, 'the first frame is not the root "all"');
		const title = await page.textContent('#title');
		const subtitle = await page.textContent('#subtitle');
		check(/ Hz .* samples?$/.test(subtitle), `subtitle without rate and sample count: ${subtitle}`);

		if (args.screenshot) {
			const height = await page.evaluate(() => document.documentElement.height.baseVal.value);
			await page.setViewportSize({ width: 1200, height: Math.min(Math.max(Math.ceil(height), 200), 8000) });
			await page.screenshot({ path: args.screenshot });
		}

		// The hot function: given, or the frame with the most self samples.
		let hot = args.hot;
		if (!hot) {
			// Frames come depth first: a frame's parent is the last one a row below.
			const self = new Map(), lastAt = new Map();
			for (const f of initial) {
				const parent = lastAt.get(f.y + (root.y - initial[1].y));
				lastAt.set(f.y, f);
				f.self = f.w;
				if (parent)
					parent.self -= f.w;
			}
			for (const f of initial.slice(1).filter((f) => !/^\[\d+ narrow frames\]$/.test(f.label)))
				self.set(fn(f.label), (self.get(fn(f.label)) || 0) + f.self);
			hot = [...self.entries()].sort((a, b) => b[1] - a[1])[0][0];
		}
		const isHot = (f) => fn(f.label) === hot;
		const hotShare = share(initial, root.w, isHot);
		check(hotShare > 0, `no frame of '${hot}'`);
		if (args['min-share'] !== undefined)
			check(hotShare >= +args['min-share'],
				`'${hot}' has ${(100 * hotShare).toFixed(1)}% of samples, expected >= ${100 * args['min-share']}%`);
		const widest = initial.filter(isHot).sort((a, b) => b.width - a.width)[0];
		check(widest.width < 50 || widest.text.startsWith(hot.slice(0, 3)),
			`'${hot}' is ${widest.width.toFixed(0)} px wide but labelled '${widest.text}'`);

		// Zoom: the widest frame that does not span the whole graph.
		const cand = initial.filter((f) => f.i > 0 && f.width < 0.95 * full)
			.sort((a, b) => b.w - a.w)[0];
		check(cand, 'every frame spans the whole width: nothing to zoom into');
		await page.locator('#frames > g').nth(cand.i).click();
		const zoomed = await frames(page);
		const z = zoomed[cand.i];
		check(Math.abs(z.width - full) < 0.05 && Math.abs(z.px - root.px) < 0.05,
			`clicked frame is ${z.width}px wide after zoom, expected ${full}`);
		check(!(await page.locator('#unzoom').evaluate((e) => e.classList.contains('hide'))),
			'Reset Zoom is not shown after a zoom');
		const scale = full / cand.w;
		let changed = 0;
		for (const f of zoomed) {
			const inside = f.y <= cand.y && f.x >= cand.x && f.x + f.w <= cand.x + cand.w;
			const below = f.y > cand.y && f.x <= cand.x && f.x + f.w >= cand.x + cand.w;
			if (inside) {
				check(!f.hidden, `frame ${f.label} hidden inside the zoomed frame`);
				check(Math.abs(f.width - f.w * scale) < 0.05, `frame ${f.label} has width ${f.width}, expected ${f.w * scale}`);
				if (Math.abs(f.width - initial[f.i].width) > 0.5)
					changed++;
			} else if (below) {
				check(!f.hidden && Math.abs(f.width - full) < 0.05, `ancestor ${f.label} not full width`);
			} else if (!inside) {
				check(f.hidden, `frame ${f.label} outside the zoomed frame is still shown`);
			}
		}
		check(changed > 0, 'no frame changed width on zoom');
		await page.click('#unzoom');
		const reset = await frames(page);
		for (const f of reset)
			check(!f.hidden && Math.abs(f.width - initial[f.i].width) < 0.05 && !f.parent,
				`frame ${f.label} not restored by Reset Zoom`);

		// Search by regular expression through Ctrl-F.
		const re = '^' + escapeRe(hot) + '( \\(|$)';
		page.once('dialog', (d) => d.accept(re));
		await page.keyboard.press('Control+f');
		await page.waitForFunction(() => document.getElementById('matched').textContent !== '');
		let now = await frames(page);
		const rx = new RegExp(re);
		for (const f of now.slice(1)) {
			const want = rx.test(f.label);
			check(f.match === want && (f.fill === HIGHLIGHT) === want,
				`search '${re}': frame ${f.label} highlighted=${f.fill === HIGHLIGHT}, expected ${want}`);
		}
		const matched = await page.textContent('#matched');
		const wantPct = (100 * share(now, root.w, (f) => rx.test(f.label))).toFixed(1);
		check(matched === `Matched: ${wantPct}%`, `matched line '${matched}', expected 'Matched: ${wantPct}%'`);
		check(Math.abs(+wantPct - 100 * hotShare) < 0.06, 'matched share differs from the hot share');
		check(await page.textContent('#search') === 'Reset Search', 'Search did not become Reset Search');
		await page.click('#search');
		now = await frames(page);
		for (const f of now)
			check(f.fill === initial[f.i].fill && !f.match, `frame ${f.label} still highlighted after reset`);
		check(await page.textContent('#matched') === '', 'matched line not cleared');

		// Search by text through the button: not a valid regex, so a substring.
		const sub = hot + ' (';
		page.once('dialog', (d) => d.accept(sub));
		await page.click('#search');
		await page.waitForFunction(() => document.getElementById('matched').textContent !== '');
		now = await frames(page);
		const subFrames = now.slice(1).filter((f) => f.label.includes(sub));
		check(now.slice(1).every((f) => f.match === f.label.includes(sub)),
			`substring search '${sub}' highlighted the wrong frames`);
		const subPct = (100 * share(now, root.w, (f) => f.label.includes(sub))).toFixed(1);
		check(await page.textContent('#matched') === `Matched: ${subPct}%`, 'substring search percentage');

		check(errors.length === 0, errors.join('; '));
		console.log(`flamegraph ok: ${initial.length} frames, '${hot}' ${(100 * hotShare).toFixed(1)}%, ` +
			`zoom into '${cand.label}' changed ${changed} widths, ${subFrames.length} substring matches, ` +
			`title '${title.slice(0, 60)}', loaded in ${loadMs} ms`);
	} finally {
		await b.close();
	}
}

main().catch((e) => {
	console.error(`flamegraph FAILED: ${file}: ${e.message}`);
	process.exit(1);
});
