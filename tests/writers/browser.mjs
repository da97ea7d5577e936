// SPDX-License-Identifier: BSD-2-Clause
// Headless Chromium (Debian's) through playwright-core, with a throwaway
// profile directory, and a tiny loopback HTTP server for pages that cannot
// load from file://.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export async function launch() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyspy-chromium-'));
	const context = await chromium.launchPersistentContext(dir, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
		viewport: { width: 1200, height: 800 },
		timeout: 60000,
	});
	return {
		context,
		async close() {
			await context.close();
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

// Collects uncaught exceptions and console errors of a page.
export function watchErrors(page) {
	const errors = [];
	page.on('pageerror', (e) => errors.push('page error: ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error')
			errors.push('console error: ' + m.text());
	});
	return errors;
}

const TYPES = {
	'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
	'.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon',
	'.wasm': 'application/wasm', '.woff2': 'font/woff2', '.txt': 'text/plain',
};

// Serves root's files, plus extra { '/url': '/file/path' }, on 127.0.0.1.
export async function serve(root, extra = {}) {
	const server = http.createServer((req, res) => {
		const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
		let file = extra[url];
		if (!file) {
			file = path.join(root, path.normalize(url).replace(/^(\.\.[/\\])+/, ''));
			if (!file.startsWith(root))
				file = null;
		}
		if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
			res.writeHead(404);
			res.end();
			return;
		}
		res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
		fs.createReadStream(file).pipe(res);
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}`,
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

// Minimal flag parsing: --name value, and positional arguments.
export function parseArgs(argv, flags) {
	const out = { _: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a.startsWith('--')) {
			const k = a.slice(2);
			if (!flags.includes(k))
				throw new Error(`unknown option ${a}`);
			out[k] = argv[++i];
		} else {
			out._.push(a);
		}
	}
	return out;
}

export function check(cond, what) {
	if (!cond)
		throw new Error(what);
}
