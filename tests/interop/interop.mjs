// Independent-client interoperability for the Image repository (run by tests/cli/tufjs_interop.sh):
//  1. an Image repository made by our signing code (genrepo) is accepted by tuf-js, served over
//     HTTP from 127.0.0.1, every target's metadata found and its bytes downloaded and checked;
//  2. repositories built with @tufjs/models (valid ones and attack variants, pretty-printed as
//     TUF tools write them) are judged by tuf-js and by our engine (the C harness running
//     upt_verify_image_repo) and the verdicts must agree, except where our format (docs/) is deliberately
//     stricter: those cases are listed with their reason and must differ exactly as stated.
// Prints TAP-style "ok - ..." / "not ok - ..." lines.
//   node interop.mjs HARNESS GENREPO_DIR WORKDIR
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Metadata, Signature } from '@tufjs/models';
import { canonicalize } from '@tufjs/canonical-json';
import { Updater } from 'tuf-js';

const [HARNESS, OURS, WORK] = process.argv.slice(2);
let failures = 0;
const ok = (name) => console.log(`ok - ${name}`);
const notOk = (name, why) => { failures++; console.log(`not ok - ${name}${why ? `: ${why}` : ''}`); };

// ---- HTTP server: serves the current repository (metadata/ and targets/) ----
let current = { meta: {}, targets: {} };
const server = http.createServer((req, res) => {
  const u = decodeURIComponent(req.url);
  let body;
  if (u.startsWith('/metadata/')) body = current.meta[u.slice(10)];
  else if (u.startsWith('/targets/')) body = current.targets[u.slice(9)];
  if (body === undefined) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// tuf-js verdict for one target: 'ok:<length>', 'notfound' or 'reject' (with the error)
async function tufjs(clientDir, target) {
  const metadataDir = path.join(clientDir, 'metadata');
  const targetDir = path.join(clientDir, 'targets');
  fs.mkdirSync(targetDir, { recursive: true });
  try {
    const updater = new Updater({
      metadataBaseUrl: `${base}/metadata`, targetBaseUrl: `${base}/targets`, metadataDir, targetDir,
      config: { fetchRetries: 0 },
    });
    await updater.refresh();
    const info = await updater.getTargetInfo(target);
    if (!info) return { v: 'notfound' };
    const file = path.join(targetDir, 'download.bin');
    await updater.downloadTarget(info, file);
    return { v: `ok:${info.length}` };
  } catch (e) {
    return { v: 'reject', why: String(e.message || e).slice(0, 160) };
  }
}

// our verdict on the same files
function ours(trustedDir, repoDir, target, save) {
  const args = ['--trusted', trustedDir, '--repo', repoDir, target];
  if (save) args.push('--save');
  let out;
  try {
    out = execFileSync(HARNESS, args, { encoding: 'utf8' });
  } catch (e) {
    if (e.status !== 1) throw e;
    out = e.stdout;
  }
  const line = out.trim();
  if (line.startsWith('OK ')) return { v: `ok:${line.split(' ')[2]}` };
  if (line.startsWith('NOTFOUND')) return { v: 'notfound' };
  return { v: 'reject', why: line.slice(0, 200) };
}

// ---- part 1: our metadata, tuf-js as the client ----
{
  const metaDir = path.join(OURS, 'metadata');
  current = { meta: {}, targets: {} };
  for (const f of fs.readdirSync(metaDir)) current.meta[f] = fs.readFileSync(path.join(metaDir, f));
  const list = fs.readFileSync(path.join(OURS, 'targets.list'), 'utf8').trim().split('\n');
  for (const t of list) current.targets[t] = fs.readFileSync(path.join(OURS, 'targets', t));
  for (const t of list) {
    const dir = fs.mkdtempSync(path.join(WORK, 'ours-'));
    fs.mkdirSync(path.join(dir, 'metadata'));
    fs.copyFileSync(path.join(metaDir, 'root.json'), path.join(dir, 'metadata', 'root.json'));
    const r = await tufjs(dir, t);
    const want = `ok:${current.targets[t].length}`;
    if (r.v === want) ok(`tuf-js accepts our Image repository: ${t} found, downloaded, hashes match`);
    else notOk(`tuf-js accepts our Image repository: ${t}`, `${r.v} ${r.why || ''}`);
    // tuf-js persisted the rotated root: the new timestamp key works for it too
  }
  const persisted = JSON.parse(fs.readFileSync(path.join(WORK, fs.readdirSync(WORK).find((d) => d.startsWith('ours-')), 'metadata', 'root.json')));
  if (persisted.signed.version === 2) ok('tuf-js followed our root rotation (1 -> 2)');
  else notOk('tuf-js followed our root rotation', `root version ${persisted.signed.version}`);
}

// ---- part 2: @tufjs/models repositories, both clients ----
const DAY = 86400 * 1000;
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const future = iso(Date.now() + 30 * DAY);
const past = iso(Date.now() - DAY);

// wrongId: filed under an id that is not the hash of the key (TUF clients do not check it)
function newKey(wrongId = false) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url').toString('hex');
  const obj = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: pub } };
  let id = crypto.createHash('sha256').update(canonicalize(obj)).digest('hex');
  if (wrongId) id = crypto.createHash('sha256').update(id).digest('hex');
  return { id, obj, priv: privateKey };
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

// @tufjs/models builds, validates and signs; the file is written pretty-printed, as TUF tools
// do (our engine must re-encode canonically before checking signatures)
function signFile(kind, signed, keys, { raw = false, post } = {}) {
  let json;
  if (raw) { // content @tufjs/models refuses to build (attacks on the format itself)
    const bytes = Buffer.from(canonicalize(signed));
    json = { signed, signatures: keys.map((k) => ({ keyid: k.id, sig: crypto.sign(null, bytes, k.priv).toString('hex') })) };
  } else {
    const md = Metadata.fromJSON(kind, { signed, signatures: [] });
    for (const k of keys) {
      md.sign((data) => new Signature({ keyID: k.id, sig: crypto.sign(null, data, k.priv).toString('hex') }));
    }
    json = md.toJSON();
  }
  if (post) post(json);
  return Buffer.from(JSON.stringify(json, null, 2));
}

const metaInfo = (bytes, version, { hashes = true } = {}) =>
  hashes ? { version, length: bytes.length, hashes: { sha256: sha256(bytes) } } : { version };

// A repository: options tweak any step; returns {meta, targets, trustedRoot}.
function buildRepo(o = {}) {
  const k = o.keys || {
    root: newKey(), timestamp: newKey(), snapshot: newKey(), targets: newKey(),
    a: newKey(), b: newKey(),
  };
  const v = { timestamp: 1, snapshot: 1, targets: 1, a: 1, b: 1, ...(o.versions || {}) };
  const exp = { root: future, timestamp: future, snapshot: future, targets: future, a: future, b: future, ...(o.expires || {}) };
  const keyMap = (ks) => Object.fromEntries(ks.map((x) => [x.id, x.obj]));
  const role = (x, t = 1) => ({ keyids: [x.id], threshold: t });
  const rootSigned = (version, rk, tk) => ({
    _type: 'root', spec_version: '1.0.31', version, expires: exp.root, consistent_snapshot: false,
    keys: keyMap([rk, tk, k.snapshot, k.targets]),
    roles: { root: role(rk), timestamp: role(tk, o.tsThreshold || 1), snapshot: role(k.snapshot), targets: role(k.targets) },
  });
  const meta = {};
  const trustedRoot = signFile('root', rootSigned(1, k.root, k.timestamp), [k.root]);
  meta['1.root.json'] = trustedRoot;
  let tsKey = k.timestamp;
  if (o.rotate) { // root 2: new root key and timestamp key
    const nr = newKey();
    tsKey = newKey();
    const signers = o.rotate === 'old-only' ? [k.root] : o.rotate === 'new-only' ? [nr] : [k.root, nr];
    const s2 = rootSigned(o.rotateVersion || 2, nr, tsKey);
    meta['2.root.json'] = signFile('root', s2, signers);
  }
  const content = { 'file1.txt': 'hello\n', 'dir/file2.txt': 'second file\n', 'deleg/file3.txt': 'delegated\n', ...(o.content || {}) };
  const tfile = (p) => ({ length: Buffer.byteLength(content[p]), hashes: { sha256: sha256(Buffer.from(content[p])) } });
  const roles = o.roles || [
    { name: 'deleg-a', keyids: [k.a.id], threshold: 1, paths: ['deleg/*'], terminating: false },
  ];
  const roleTargets = o.roleTargets || { 'deleg-a': ['deleg/file3.txt'] };
  const roleKeys = { 'deleg-a': k.a, 'deleg-b': k.b };
  const targetsSigned = {
    _type: 'targets', spec_version: '1.0.31', version: v.targets, expires: exp.targets,
    targets: Object.fromEntries((o.topTargets || ['file1.txt', 'dir/file2.txt']).map((p) => [p, tfile(p)])),
    delegations: { keys: keyMap([k.a, k.b]), roles },
  };
  if (o.tweakTargets) o.tweakTargets(targetsSigned);
  meta['targets.json'] = signFile('targets', targetsSigned, o.targetsSigners || [k.targets]);
  const snapMeta = { 'targets.json': metaInfo(meta['targets.json'], v.targets) };
  for (const r of roles) {
    const key = r.name === 'deleg-b' ? 'b' : 'a';
    const s = {
      _type: 'targets', spec_version: '1.0.31', version: v[key], expires: exp[key],
      targets: Object.fromEntries((roleTargets[r.name] || []).map((p) => [p, tfile(p)])),
    };
    if (o.tweakRole) o.tweakRole(r.name, s);
    meta[`${r.name}.json`] = signFile('targets', s, [o.roleSigner ? o.roleSigner(r.name) : roleKeys[r.name] || k.a]);
    snapMeta[`${r.name}.json`] = metaInfo(meta[`${r.name}.json`], v[key]);
  }
  if (o.tweakSnapMeta) o.tweakSnapMeta(snapMeta);
  const snapSigned = { _type: 'snapshot', spec_version: '1.0.31', version: v.snapshot, expires: exp.snapshot, meta: snapMeta };
  meta['snapshot.json'] = signFile('snapshot', snapSigned, [k.snapshot], o.snapshotOpts || {});
  const tsSigned = {
    _type: 'timestamp', spec_version: '1.0.31', version: v.timestamp, expires: exp.timestamp,
    meta: { 'snapshot.json': metaInfo(meta['snapshot.json'], v.snapshot, { hashes: !o.tsNoHashes }) },
  };
  if (o.tweakTimestamp) o.tweakTimestamp(tsSigned);
  meta['timestamp.json'] = signFile('timestamp', tsSigned, o.tsSigners ? o.tsSigners(k, tsKey) : [tsKey], o.tsOpts || {});
  if (o.drop) for (const f of o.drop) delete meta[f];
  const targets = Object.fromEntries(Object.entries(content).map(([p, c]) => [p, Buffer.from(c)]));
  return { meta, targets, trustedRoot, keys: k };
}

let caseNo = 0;
// One comparison. `steps`: [{repo, target}], run in order against the same client state; the
// last step's verdicts are compared. `diverge`: [expected tuf-js verdict, expected ours, reason].
async function compare(name, steps, { diverge } = {}) {
  caseNo++;
  const dir = path.join(WORK, `case-${caseNo}`);
  const clientDir = path.join(dir, 'tufjs');
  const trustedDir = path.join(dir, 'trusted');
  fs.mkdirSync(path.join(clientDir, 'metadata'), { recursive: true });
  fs.mkdirSync(trustedDir, { recursive: true });
  fs.writeFileSync(path.join(clientDir, 'metadata', 'root.json'), steps[0].repo.trustedRoot);
  fs.writeFileSync(path.join(trustedDir, 'root.json'), steps[0].repo.trustedRoot);
  let a, b;
  for (let i = 0; i < steps.length; i++) {
    const { repo, target } = steps[i];
    const repoDir = path.join(dir, `repo-${i}`);
    fs.mkdirSync(repoDir);
    for (const [f, c] of Object.entries(repo.meta)) fs.writeFileSync(path.join(repoDir, f), c);
    current = { meta: repo.meta, targets: repo.targets };
    a = await tufjs(clientDir, target);
    b = ours(trustedDir, repoDir, target, i < steps.length - 1);
    if (i < steps.length - 1 && (a.v === 'reject' || b.v === 'reject')) {
      notOk(name, `setup step ${i + 1} failed: tuf-js ${a.v} ${a.why || ''} / ours ${b.v} ${b.why || ''}`);
      return;
    }
  }
  const detail = `tuf-js ${a.v}${a.why ? ` (${a.why})` : ''}; ours ${b.v}${b.why ? ` (${b.why})` : ''}`;
  if (diverge) {
    const [wantA, wantB, reason] = diverge;
    if (a.v.startsWith(wantA) && b.v.startsWith(wantB)) ok(`${name}: deliberate divergence (${reason}): ${detail}`);
    else notOk(`${name} (expected divergence tuf-js ${wantA}, ours ${wantB})`, detail);
  } else if (a.v === b.v) {
    ok(`${name}: both ${a.v}`);
  } else {
    notOk(name, detail);
  }
}

const one = (o, target = 'file1.txt') => [{ repo: buildRepo(o), target }];

await compare('valid repository, top-level target', one({}));
await compare('valid repository, second top-level target', one({}, 'dir/file2.txt'));
await compare('valid repository, delegated target', one({}, 'deleg/file3.txt'));
await compare('target that no role lists', one({}, 'nothing.txt'));
await compare('root rotation signed by old and new keys', one({ rotate: 'both' }));
await compare('root rotation signed by the old keys only', one({ rotate: 'old-only' }));
await compare('root rotation signed by the new keys only', one({ rotate: 'new-only' }));
await compare('root 2.root.json carrying version 3', one({ rotate: 'both', rotateVersion: 3 }));
await compare('expired root', one({ expires: { root: past } }));
await compare('expired timestamp', one({ expires: { timestamp: past } }));
await compare('expired snapshot', one({ expires: { snapshot: past } }));
await compare('expired targets', one({ expires: { targets: past } }));
await compare('expired delegated role (its target)', one({ expires: { a: past } }, 'deleg/file3.txt'));
await compare('expired delegated role (a top-level target)', one({ expires: { a: past } }));
await compare('timestamp signed by the snapshot key', one({ tsSigners: (k) => [k.snapshot] }));
await compare('timestamp threshold 2, one signature', one({ tsThreshold: 2 }));
await compare('targets signed by an unknown key', one({ targetsSigners: [newKey()] }));
await compare('delegated role signed by the wrong key', one({ roleSigner: () => newKey() }, 'deleg/file3.txt'));
await compare('snapshot not as the timestamp pins it', one({ tweakTimestamp: (s) => { s.meta['snapshot.json'].hashes.sha256 = sha256('other'); } }));
await compare('snapshot length not as pinned', one({ tweakTimestamp: (s) => { s.meta['snapshot.json'].length += 1; } }));
await compare('snapshot version not as pinned', one({ tweakTimestamp: (s) => { s.meta['snapshot.json'].version = 2; } }));
await compare('targets version not as the snapshot lists', one({ tweakSnapMeta: (m) => { m['targets.json'].version = 2; } }));
await compare('targets hash not as the snapshot lists', one({ tweakSnapMeta: (m) => { m['targets.json'].hashes.sha256 = sha256('x'); } }));
await compare('delegated role version not as listed', one({ tweakSnapMeta: (m) => { m['deleg-a.json'].version = 3; } }, 'deleg/file3.txt'));
await compare('wrong _type (timestamp file says snapshot)', one({ tsOpts: { raw: true }, tweakTimestamp: (s) => { s._type = 'snapshot'; } }));
await compare('spec_version 2.0.0', one({ tsOpts: { raw: true }, tweakTimestamp: (s) => { s.spec_version = '2.0.0'; } }));
await compare('the same signature twice', one({ tsOpts: { post: (j) => j.signatures.push(j.signatures[0]) } }));
await compare('`*` does not match `/`', one({ content: { 'deleg/sub/file4.txt': 'x\n' }, roleTargets: { 'deleg-a': ['deleg/sub/file4.txt'] } }, 'deleg/sub/file4.txt'));
const kset = () => ({ root: newKey(), timestamp: newKey(), snapshot: newKey(), targets: newKey(), a: newKey(), b: newKey() });
{
  const k = kset();
  const roles = [
    { name: 'deleg-a', keyids: [k.a.id], threshold: 1, paths: ['shared/*'], terminating: false },
    { name: 'deleg-b', keyids: [k.b.id], threshold: 1, paths: ['shared/*'], terminating: false },
  ];
  const content = { 'shared/x.txt': 'role a version\n' };
  await compare('delegation order: the first listed role wins', one({
    keys: k, roles, content, roleTargets: { 'deleg-a': ['shared/x.txt'], 'deleg-b': [] },
  }, 'shared/x.txt'));
  await compare('delegation order: found in the second role', one({
    keys: k, roles, content, roleTargets: { 'deleg-a': [], 'deleg-b': ['shared/x.txt'] },
  }, 'shared/x.txt'));
  const term = [{ ...roles[0], terminating: true }, roles[1]];
  await compare('terminating delegation ends the search', one({
    keys: k, roles: term, content, roleTargets: { 'deleg-a': [], 'deleg-b': ['shared/x.txt'] },
  }, 'shared/x.txt'));
  await compare('path pattern per component', one({
    keys: k, content: { 'deleg/sub/f.txt': 'f\n' },
    roles: [{ name: 'deleg-a', keyids: [k.a.id], threshold: 1, paths: ['deleg/*/*'], terminating: false }],
    roleTargets: { 'deleg-a': ['deleg/sub/f.txt'] },
  }, 'deleg/sub/f.txt'));
  await compare('delegation threshold 2 with one signature', one({
    keys: k, roles: [{ name: 'deleg-a', keyids: [k.a.id, k.b.id], threshold: 2, paths: ['deleg/*'], terminating: false }],
  }, 'deleg/file3.txt'));
  const cyc = [{ name: 'deleg-a', keyids: [k.a.id], threshold: 1, paths: ['shared/*'], terminating: false }];
  await compare('delegation cycle (a -> b -> a), target nowhere', one({
    keys: k, roles: cyc, content, roleTargets: { 'deleg-a': [] },
    tweakRole: (name, s) => {
      if (name === 'deleg-a') s.delegations = { keys: { [k.a.id]: k.a.obj }, roles: [{ ...cyc[0] }] };
    },
  }, 'shared/x.txt'));
}

// two-step cases: state from a first valid repository, then the second
{
  const k = kset();
  await compare('rollback of timestamp, snapshot and targets', [
    { repo: buildRepo({ keys: k, versions: { timestamp: 2, snapshot: 2, targets: 2 } }), target: 'file1.txt' },
    { repo: buildRepo({ keys: k }), target: 'file1.txt' },
  ]);
}
{
  const k = kset();
  await compare('rollback of the targets version only', [
    { repo: buildRepo({ keys: k, versions: { timestamp: 1, snapshot: 1, targets: 2 } }), target: 'file1.txt' },
    { repo: buildRepo({ keys: k, versions: { timestamp: 2, snapshot: 2, targets: 1 } }), target: 'file1.txt' },
  ]);
}
{
  const k = kset();
  await compare('newer versions after older ones', [
    { repo: buildRepo({ keys: k }), target: 'file1.txt' },
    { repo: buildRepo({ keys: k, versions: { timestamp: 2, snapshot: 2, targets: 2, a: 2 } }), target: 'deleg/file3.txt' },
  ]);
}
{
  const k = kset();
  await compare('delegated role dropped from the snapshot', [
    { repo: buildRepo({ keys: k }), target: 'file1.txt' },
    { repo: buildRepo({ keys: k, versions: { timestamp: 2, snapshot: 2, targets: 2 }, roles: [] }), target: 'file1.txt' },
  ]);
}

{
  const k = kset();
  await compare('fast-forward recovery: timestamp key rotated, versions start again', [
    { repo: buildRepo({ keys: k, versions: { timestamp: 5, snapshot: 5, targets: 5 } }), target: 'file1.txt' },
    { repo: buildRepo({ keys: k, rotate: 'both', versions: { targets: 5 } }), target: 'file1.txt' },
  ]);
}

// deliberate divergences: our verifier is stricter than TUF / tuf-js here
await compare('key id that is not the hash of its key', one({
  keys: { root: newKey(), timestamp: newKey(true), snapshot: newKey(), targets: newKey(), a: newKey(), b: newKey() },
}),
  { diverge: ['ok', 'reject', 'docs/bundle-format.md: the verifier recomputes every key id and checks it'] });
await compare('timestamp pins the snapshot by version only', one({ tsNoHashes: true }),
  { diverge: ['ok', 'reject', 'docs/bundle-format.md: timestamp entries carry at least sha256'] });
{
  const k = kset();
  await compare('snapshot lists a role the repository does not carry (not needed)', one({
    keys: k, drop: ['deleg-a.json'],
  }), { diverge: ['ok', 'reject', 'docs/bundle-format.md: a role listed in a snapshot but absent from the bundle is malformed (a bundle is complete; a TUF client fetches lazily)'] });
  await compare('brace pattern {deleg,other}/*', one({
    keys: k, roles: [{ name: 'deleg-a', keyids: [k.a.id], threshold: 1, paths: ['{deleg,other}/*'], terminating: false }],
  }, 'deleg/file3.txt'), { diverge: ['ok', 'notfound', 'docs/threat-model.md: shell-style patterns (fnmatch); minimatch also expands braces'] });
}
{
  const k = kset();
  const a = buildRepo({ keys: k });
  const b = buildRepo({ keys: k, expires: { timestamp: iso(Date.now() + 20 * DAY) } });
  await compare('same timestamp version, other content', [
    { repo: a, target: 'file1.txt' }, { repo: { ...b, trustedRoot: a.trustedRoot }, target: 'file1.txt' },
  ], { diverge: ['ok', 'reject', 'docs/threat-model.md: same version with different content is rollback (tuf-js keeps its copy silently)'] });
}

server.close();
console.log(`# ${caseNo} comparisons, ${failures} failed`);
process.exit(failures ? 1 : 0);
