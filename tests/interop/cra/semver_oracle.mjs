// npm's semver as the oracle for bundler/version_order.c (tests/unit/test_version_order.c).
// stdin lines: "cmp A B" -> semver.compare(A, B) (-1, 0, 1);
//              "in V I F" -> 1 when V satisfies ">=I <F" (pre-releases included), else 0.
import { readFileSync } from 'node:fs';
import semver from 'semver';

const out = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
	if (!line) continue;
	const [op, a, b, c] = line.split(' ');
	if (op === 'cmp') out.push(String(semver.compare(a, b)));
	else out.push(semver.satisfies(a, `>=${b} <${c}`, { includePrerelease: true }) ? '1' : '0');
}
process.stdout.write(out.join('\n') + '\n');
