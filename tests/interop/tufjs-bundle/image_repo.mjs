// tuf-js, an independent TUF 1.0 client, reads the Image repository a bundle carries.
//   node image_repo.mjs BUNDLE_DIR TRUSTED_ROOT TARGET_NAME..
// BUNDLE_DIR: an extracted bundle whose images/ hold the decompressed images. Serves
// metadata/image-repo/ over HTTP on 127.0.0.1 the way a TUF repository lays it out
// (N.root.json, timestamp.json, snapshot.json, targets.json, <delegated role>.json), runs the
// TUF client workflow (root chain, timestamp, snapshot, targets, delegations) from
// TRUSTED_ROOT, then looks up each target (walking delegations) and downloads it, which makes
// tuf-js check its length and hashes. Prints one JSON line; exit 0 only when all succeeded.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Updater } from 'tuf-js';

const [bundleDir, trustedRoot, ...names] = process.argv.slice(2);
const repo = path.join(bundleDir, 'metadata', 'image-repo');

function resolve(urlPath) {
	const [kind, ...rest] = urlPath.split('/').filter(Boolean);
	const name = rest.join('/');
	if (kind === 'meta') {
		if (fs.existsSync(path.join(repo, name))) return path.join(repo, name);
		return path.join(repo, 'delegations', name); // <role>.json
	}
	if (kind === 'targets') return path.join(bundleDir, 'images', name);
	return null;
}

const server = http.createServer((req, res) => {
	const file = resolve(decodeURIComponent(req.url));
	if (!file || file.includes('..') || !fs.existsSync(file)) {
		res.writeHead(404);
		res.end();
		return;
	}
	res.writeHead(200);
	fs.createReadStream(file).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tufjs-'));
fs.copyFileSync(trustedRoot, path.join(work, 'root.json'));
fs.mkdirSync(path.join(work, 'dl'));
const result = { refreshed: false, targets: {} };
let ok = true;
try {
	const updater = new Updater({
		metadataDir: work,
		metadataBaseUrl: `${base}/meta`,
		targetDir: path.join(work, 'dl'),
		targetBaseUrl: `${base}/targets`,
		config: { fetchTimeout: 10000, fetchRetries: 0 },
	});
	await updater.refresh();
	result.refreshed = true;
	for (const name of names) {
		const info = await updater.getTargetInfo(name);
		if (!info) {
			result.targets[name] = 'not found';
			ok = false;
			continue;
		}
		const dest = path.join(work, 'dl', name.replaceAll('/', '_'));
		await updater.downloadTarget(info, dest);
		result.targets[name] = { length: info.length, hashes: Object.keys(info.hashes).sort() };
	}
} catch (err) {
	result.error = `${err.name}: ${err.message}`;
	ok = false;
}
server.close();
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify(result));
process.exit(ok ? 0 : 1);
