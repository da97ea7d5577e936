#!/usr/bin/env node
// SPDX-License-Identifier: BSD-2-Clause
// Checks a pyspy-bpf speedscope profile the way speedscope reads it:
// validates it against the JSON schema shipped in the speedscope package,
// checks what the schema cannot (frame indices, weights, the hot function's
// share), then opens it in speedscope's own bundled app in headless Chromium
// (served from loopback: the app cannot fetch a profile from file://) and
// waits until the app has imported and rendered it without an error.
//
// usage: check_speedscope.mjs FILE.json [--hot FUNCTION] [--min-share F]
//                             [--screenshot OUT.png]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { launch, watchErrors, serve, parseArgs, check } from './browser.mjs';

const args = parseArgs(process.argv.slice(2), ['hot', 'min-share', 'screenshot']);
if (args._.length !== 1) {
	console.error('usage: check_speedscope.mjs FILE.json [--hot FUNCTION] [--min-share F] [--screenshot OUT.png]');
	process.exit(2);
}
const file = path.resolve(args._[0]);
const require = createRequire(import.meta.url);
const release = path.join(path.dirname(require.resolve('speedscope/package.json')), 'dist', 'release');
const speedscopeVersion = require('speedscope/package.json').version;

function validate(doc) {
	const schema = JSON.parse(fs.readFileSync(path.join(release, 'file-format-schema.json'), 'utf8'));
	const ajv = new Ajv({ strict: false, allErrors: true });
	const ok = ajv.validate(schema, doc);
	check(ok, 'schema: ' + ajv.errorsText(ajv.errors, { separator: '; ' }));
}

function semantics(doc) {
	const frames = doc.shared.frames;
	let total = 0, hot = 0;
	check(doc.profiles.length > 0, 'no profiles');
	for (const p of doc.profiles) {
		check(p.type === 'sampled', `profile '${p.name}' is ${p.type}, expected sampled`);
		check(p.unit === 'seconds', `profile '${p.name}' unit ${p.unit}`);
		check(p.samples.length === p.weights.length, `profile '${p.name}': samples and weights differ in length`);
		let sum = 0;
		p.samples.forEach((s, i) => {
			for (const f of s)
				check(Number.isInteger(f) && f >= 0 && f < frames.length, `profile '${p.name}': frame index ${f}`);
			check(p.weights[i] > 0, `profile '${p.name}': weight ${p.weights[i]}`);
			sum += p.weights[i];
			if (args.hot && s.some((f) => frames[f].name === args.hot))
				hot += p.weights[i];
		});
		check(Math.abs(p.endValue - p.startValue - sum) < 1e-6 * Math.max(1, sum),
			`profile '${p.name}': endValue ${p.endValue} but weights add up to ${sum}`);
		total += sum;
	}
	check(doc.activeProfileIndex === undefined || doc.activeProfileIndex < doc.profiles.length,
		'activeProfileIndex out of range');
	check(/^pyspy-bpf /.test(doc.exporter || ''), `exporter '${doc.exporter}'`);
	const share = total ? hot / total : 0;
	if (args.hot) {
		check(hot > 0, `no sample has '${args.hot}'`);
		if (args['min-share'] !== undefined)
			check(share >= +args['min-share'],
				`'${args.hot}' in ${(100 * share).toFixed(1)}% of the time, expected >= ${100 * args['min-share']}%`);
	}
	return { total, share };
}

async function render(doc) {
	const server = await serve(release, { '/profile.json': file });
	const b = await launch();
	try {
		const page = await b.context.newPage();
		const errors = watchErrors(page);
		const dialogs = [];
		page.on('dialog', (d) => {
			dialogs.push(d.message());
			d.dismiss();
		});
		const profileURL = `${server.url}/profile.json`;
		await page.goto(`${server.url}/index.html#profileURL=${encodeURIComponent(profileURL)}`);
		// The app names the page after the imported profile when it is done.
		const want = `${doc.name} - speedscope`;
		await page.waitForFunction((t) => document.title === t ||
			document.body.innerText.includes('Something went wrong'), want, { timeout: 30000 })
			.catch(() => {});
		const text = await page.evaluate(() => document.body.innerText);
		check(!text.includes('Something went wrong'), 'speedscope: Something went wrong');
		check(dialogs.length === 0, 'speedscope said: ' + dialogs.join('; '));
		check(await page.title() === want, `speedscope did not load the profile (title '${await page.title()}')`);
		// The flame chart is drawn on canvases once the profile is in.
		await page.waitForFunction(() => Array.from(document.querySelectorAll('canvas'))
			.some((c) => c.width > 100 && c.height > 100), null, { timeout: 15000 });
		const active = doc.profiles[doc.activeProfileIndex || 0].name;
		check(text.includes(active), `the active profile '${active}' is not shown`);
		if (doc.profiles.length > 1)
			check(text.includes(`(${(doc.activeProfileIndex || 0) + 1}/${doc.profiles.length})`),
				`the profile selector does not show ${doc.profiles.length} profiles`);
		if (args.screenshot)
			await page.screenshot({ path: args.screenshot });
		check(errors.length === 0, errors.join('; '));
	} finally {
		await b.close();
		await server.close();
	}
}

async function main() {
	const t0 = Date.now();
	const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	validate(doc);
	const { total, share } = semantics(doc);
	const t1 = Date.now();
	await render(doc);
	console.log(`speedscope ok: schema of speedscope ${speedscopeVersion} (${t1 - t0} ms), ` +
		`${doc.profiles.length} profiles, ${doc.shared.frames.length} frames, ${total.toFixed(2)} s` +
		(args.hot ? `, '${args.hot}' ${(100 * share).toFixed(1)}%` : '') +
		`, rendered by speedscope's app in ${Date.now() - t1} ms`);
}

main().catch((e) => {
	console.error(`speedscope FAILED: ${file}: ${e.message}`);
	process.exit(1);
});
