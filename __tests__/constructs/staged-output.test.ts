/**
 * The app synthesizes into a staging folder and moves what it wrote into the output folder only once
 * the synth completed (lib/private/staged-output.ts): a synth stopped part way leaves the output
 * folder as it was, and a completed one changes what cdktf's own writes change, nothing more.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { OutputObstacle, STAGING_OWNER_FILE, STAGING_PREFIX, StagedOutput, STALE_STAGING_AGE_MS } from '../../lib/private/staged-output';

/** Every file under `folder` with its content, by path. */
function snapshot(folder: string): Record<string, string> {
  const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(folder, file)).isFile());
  return Object.fromEntries(files.sort().map((file) => [file, readFileSync(join(folder, file), 'utf8')]));
}

function write(folder: string, files: Record<string, string>): void {
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, file)), { recursive: true });
    writeFileSync(join(folder, file), content);
  }
}

describe('a staged synth output', () => {
  let root: string;
  let outdir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'staged-output-'));
    outdir = join(root, 'cdktf.out');
  });
  afterEach(() => {
    chmodSync(root, 0o755);
    rmSync(root, { recursive: true, force: true });
  });

  const earlier = {
    'manifest.json': '{"stacks":{"a":{},"b":{}}}',
    'stacks/a/cdk.tf.json': '{"a":1}',
    'stacks/a/.terraform/providers/azurerm': 'binary',
    'stacks/a/.terraform.lock.hcl': 'lock',
    'stacks/a/terraform.a.tfstate': '{"serial":7}',
    'stacks/a/assets/uploader/OLDHASH/upload.mjs': 'old',
    'stacks/b/cdk.tf.json': '{"b":1}',
    'stacks/other-plan/cdk.tf.json': '{"other":1}',
  };

  /** What a later synth writes: stack a again with a new version of its asset, stack c new, b gone from the manifest. */
  const later = {
    'manifest.json': '{"stacks":{"a":{},"c":{}}}',
    'stacks/a/cdk.tf.json': '{"a":2}',
    'stacks/a/assets/uploader/NEWHASH/upload.mjs': 'new',
    'stacks/c/cdk.tf.json': '{"c":1}',
  };

  it('discarded (a synth stopped part way), leaves the output folder byte for byte as it was, without the staging folder', () => {
    write(outdir, earlier);
    const output = StagedOutput.begin(outdir);
    expect(dirname(output.staging)).toBe(outdir);
    expect(output.staging.startsWith(join(outdir, STAGING_PREFIX))).toBe(true);
    write(output.staging, { 'stacks/a/cdk.tf.json': '{"a":2}' });
    output.discard();
    expect(snapshot(outdir)).toEqual(earlier);
    expect(readdirSync(outdir).sort()).toEqual(['manifest.json', 'stacks']);
  });

  it('discarded, removes the output folder it made (still empty), and keeps it made by another', () => {
    StagedOutput.begin(outdir).discard();
    expect(existsSync(outdir)).toBe(false);
    const output = StagedOutput.begin(outdir);
    writeFileSync(join(outdir, 'written-meanwhile'), '');
    output.discard();
    expect(readdirSync(outdir)).toEqual(['written-meanwhile']);
  });

  it('published, writes what the synth wrote, replaces an asset\'s earlier versions as cdktf does, and keeps everything else', () => {
    write(outdir, earlier);
    const output = StagedOutput.begin(outdir);
    write(output.staging, later);
    output.publish();
    const { 'stacks/a/assets/uploader/OLDHASH/upload.mjs': replaced, ...kept } = earlier;
    expect(replaced).toBe('old');
    expect(snapshot(outdir)).toEqual({
      ...kept,
      ...later,
    });
    expect(readdirSync(outdir).filter((name) => name.startsWith(STAGING_PREFIX))).toEqual([]);
  });

  // Another file system to link to: a tmpfs where Linux has one.
  const otherFileSystem = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev ? '/dev/shm' : undefined;
  (otherFileSystem ? it : it.skip)('published through a link to another file system (stacks/ on a volume), writes there as cdktf did (was: EXDEV with the manifest moved and no stack)', () => {
    const elsewhere = mkdtempSync(join(otherFileSystem ?? tmpdir(), 'staged-output-stacks-'));
    try {
      write(outdir, { 'manifest.json': '{}' });
      write(elsewhere, { 'a/.terraform.lock.hcl': 'lock', 'a/assets/uploader/OLDHASH/upload.mjs': 'old', 'b/cdk.tf.json': '{"b":1}' });
      symlinkSync(elsewhere, join(outdir, 'stacks'));
      const output = StagedOutput.begin(outdir);
      write(output.staging, later);
      output.publish();
      expect(snapshot(elsewhere)).toEqual({
        'a/.terraform.lock.hcl': 'lock',
        'a/assets/uploader/NEWHASH/upload.mjs': 'new',
        'a/cdk.tf.json': '{"a":2}',
        'b/cdk.tf.json': '{"b":1}',
        'c/cdk.tf.json': '{"c":1}',
      });
      expect(readFileSync(join(outdir, 'manifest.json'), 'utf8')).toBe(later['manifest.json']);
      expect(readdirSync(outdir).sort()).toEqual(['manifest.json', 'stacks']);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('published into an output folder it made, keeps it', () => {
    const output = StagedOutput.begin(outdir);
    write(output.staging, { 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{}' });
    output.publish();
    expect(snapshot(outdir)).toEqual({ 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{}' });
  });

  it.each([
    ['a file where the synth writes a folder', { 'stacks/a': 'a file' }, 'stacks/a is a file where the synth writes a folder'],
    ['a folder where the synth writes a file', { 'manifest.json/x': 'a file in a folder' }, 'manifest.json is a folder where the synth writes a file'],
  ])('meeting %s, moves nothing and names it', (_, obstacle, message) => {
    write(outdir, obstacle);
    const before = snapshot(outdir);
    const output = StagedOutput.begin(outdir);
    // The manifest comes first in the folder's listing: an obstacle found later still moves nothing.
    write(output.staging, { 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{}' });
    const publishing = () => output.publish();
    expect(publishing).toThrow(OutputObstacle);
    expect(publishing).toThrow(`${join(outdir, message)}`);
    output.discard();
    expect(snapshot(outdir)).toEqual(before);
    expect(readdirSync(outdir).filter((name) => name.startsWith(STAGING_PREFIX))).toEqual([]);
  });

  // root may write any folder.
  (process.getuid?.() === 0 ? it.skip : it)('meeting a folder it may not write, moves nothing and throws Node\'s error', () => {
    write(outdir, earlier);
    const output = StagedOutput.begin(outdir);
    write(output.staging, { 'manifest.json': '{}', 'stacks/b/cdk.tf.json': '{"b":2}' });
    chmodSync(join(outdir, 'stacks', 'b'), 0o555);
    try {
      expect(() => output.publish()).toThrow(/^EACCES: permission denied, access '.*stacks\/b'$/);
    } finally {
      chmodSync(join(outdir, 'stacks', 'b'), 0o755);
    }
    output.discard();
    expect(snapshot(outdir)).toEqual(earlier);
  });
});

describe('staging folders a killed synth left behind (SIGKILL, a power cut: no exit handler ran)', () => {
  let outdir: string;
  beforeEach(() => {
    outdir = join(mkdtempSync(join(tmpdir(), 'staged-output-')), 'cdktf.out');
    write(outdir, { 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{"a":1}' });
  });
  afterEach(() => rmSync(dirname(outdir), { recursive: true, force: true }));

  /** A pid no process has now: a child that has exited (and was reaped). */
  let ended: number | undefined;
  const endedPid = (): number => (ended ??= spawnSync(process.execPath, ['-e', '']).pid!);

  /** A staging folder as `begin` makes it, owned as given, with a stack written part way. */
  function leftover(name: string, owner: { pid: number; host?: string; createdAt?: number; pidNamespace?: string } | string | undefined): string {
    const folder = join(outdir, name);
    write(folder, { 'stacks/a/cdk.tf.json': '{"a":' });
    if (owner !== undefined) {
      const text = typeof owner === 'string' ? owner : JSON.stringify({ host: hostname(), createdAt: Date.now(), ...owner });
      writeFileSync(join(folder, STAGING_OWNER_FILE), text);
    }
    return name;
  }

  const stagingFolders = () => readdirSync(outdir).filter((name) => name.startsWith(STAGING_PREFIX)).sort();

  it('the next synth removes those whose process is gone, and those older than a day whatever runs under their pid (was: kept forever)', () => {
    const gone = leftover('.synth-Ab12Cd', { pid: endedPid() });
    // process.ppid runs (jest's parent): a pid reused by another process, kept only while young.
    const reused = leftover('.synth-Ef34Gh', { pid: process.ppid, createdAt: Date.now() - STALE_STAGING_AGE_MS - 60_000 });
    const cutShort = leftover('.synth-Ij56Kl', '{"pid":');
    const old = new Date(Date.now() - STALE_STAGING_AGE_MS - 60_000);
    utimesSync(join(outdir, cutShort, STAGING_OWNER_FILE), old, old);
    const output = StagedOutput.begin(outdir);
    expect(stagingFolders()).toEqual([output.staging.slice(outdir.length + 1)]);
    expect([gone, reused, cutShort].filter((name) => existsSync(join(outdir, name)))).toEqual([]);
    output.discard();
    expect(snapshot(outdir)).toEqual({ 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{"a":1}' });
  });

  it('keeps those of a synth still running, of another host, just begun (no owner file yet), and everything else in the output folder', () => {
    const kept = [
      leftover('.synth-Live01', { pid: process.ppid }),
      leftover('.synth-Othr01', { pid: endedPid(), host: `not-${hostname()}` }),
      // Another container of the same host name (--uts=host) on a shared volume: its pids are not this one's.
      leftover('.synth-Ctnr01', { pid: endedPid(), pidNamespace: 'pid:[1]' }),
      leftover('.synth-Begun1', undefined),
      leftover('.synth-cut', { pid: endedPid() }),
      leftover('.synth-Ab12Cd-notes', { pid: endedPid() }),
      leftover('synth-Ab12Cd', { pid: endedPid() }),
    ];
    // A link named like a staging folder, to a folder holding an owner file of an ended process: neither goes.
    const elsewhere = join(dirname(outdir), 'elsewhere');
    write(elsewhere, { 'keep.txt': 'keep', [STAGING_OWNER_FILE]: JSON.stringify({ pid: endedPid(), host: hostname(), createdAt: 0 }) });
    symlinkSync(elsewhere, join(outdir, '.synth-Link01'));
    writeFileSync(join(outdir, '.synth-File01'), JSON.stringify({ pid: endedPid(), host: hostname(), createdAt: 0 }));
    const before = snapshot(outdir);
    StagedOutput.begin(outdir).discard();
    expect(snapshot(outdir)).toEqual(before);
    expect(readdirSync(outdir).sort()).toEqual([...kept, '.synth-File01', '.synth-Link01', 'manifest.json', 'stacks'].sort());
    expect(readdirSync(elsewhere).sort()).toEqual([STAGING_OWNER_FILE, 'keep.txt'].sort());
  });

  /** Sets the modification time of `path` and everything under it (links themselves, not what they name). */
  function age(path: string, when: Date): void {
    if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) age(join(path, name), when);
    lutimesSync(path, when, when);
  }
  const dayAndMore = () => new Date(Date.now() - STALE_STAGING_AGE_MS - 60_000);

  /** A staging folder as a version of the library before the owner file made it (mkdtemp: 0700), holding `files`, untouched for a day unless `young`. */
  function ownerless(files: Record<string, string>, { young = false } = {}): string {
    const folder = mkdtempSync(join(outdir, STAGING_PREFIX));
    write(folder, files);
    if (!young) age(folder, dayAndMore());
    return folder.slice(outdir.length + 1);
  }

  const synthWritten = {
    'manifest.json': '{"stacks":{"a":{}}}',
    'stacks/a/cdk.tf.json': '{"a":',
    'stacks/a/assets/uploader/HASH1/upload.mjs': 'asset',
  };

  it('the next synth removes one without an owner file (an older version\'s, or killed before writing it) once a day old, made by mkdtemp, holding only what a synth writes (was: kept forever)', () => {
    const left = [
      ownerless(synthWritten),
      // Killed between mkdtemp and the owner file, or before the synth wrote anything.
      ownerless({}),
      ownerless({ 'stacks/a/cdk.tf': 'terraform {}', 'stacks/a/metadata.json': '{}' }),
    ];
    expect(stagingFolders()).toEqual([...left].sort());
    const output = StagedOutput.begin(outdir);
    expect(stagingFolders()).toEqual([output.staging.slice(outdir.length + 1)]);
    output.discard();
    expect(snapshot(outdir)).toEqual({ 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{"a":1}' });
  });

  it('keeps one without an owner file that is young, made by someone else, or holding anything a synth does not write', () => {
    const userFile = join(dirname(outdir), 'user-file.txt');
    writeFileSync(userFile, 'keep');
    const young = ownerless(synthWritten, { young: true });
    // Just made by a synth that has not written its owner file yet (mkdtemp, then the file).
    const justMade = ownerless({}, { young: true });
    // One file written within the day: the folder is in use.
    const touched = ownerless(synthWritten);
    utimesSync(join(outdir, touched, 'stacks/a/cdk.tf.json'), new Date(), new Date());
    // Made by a user (mkdir, cp: the umask's 0755), with a copy of a synth's output.
    const madeByUser = ownerless(synthWritten);
    chmodSync(join(outdir, madeByUser), 0o755);
    age(join(outdir, madeByUser), dayAndMore());
    const kept = [
      young,
      justMade,
      touched,
      madeByUser,
      ownerless({ ...synthWritten, 'notes.txt': 'mine' }),
      // Terraform run in the folder: its providers and lock file.
      ownerless({ ...synthWritten, 'stacks/a/.terraform.lock.hcl': 'lock', 'stacks/a/.terraform/providers/azurerm': 'binary' }),
      // Killed while publishing: the output folder's earlier asset, moved aside.
      ownerless({ ...synthWritten, '.replaced/0/upload.mjs': 'earlier asset' }),
      ownerless({ 'manifest.json': '{}', stacks: 'a file where a folder goes' }),
      ownerless({ 'stacks/loose.json': '{}' }),
    ];
    const linked = ownerless(synthWritten);
    symlinkSync(userFile, join(outdir, linked, 'stacks/a/assets/uploader/HASH1/link'));
    age(join(outdir, linked), dayAndMore());
    kept.push(linked);
    const before = snapshot(outdir);
    StagedOutput.begin(outdir).discard();
    expect(stagingFolders()).toEqual([...kept].sort());
    expect(snapshot(outdir)).toEqual(before);
    expect(readFileSync(userFile, 'utf8')).toBe('keep');
  });

  it('the owner file names this process and is not published', () => {
    const output = StagedOutput.begin(outdir);
    expect(JSON.parse(readFileSync(join(output.staging, STAGING_OWNER_FILE), 'utf8'))).toEqual({
      pid: process.pid,
      host: hostname(),
      createdAt: expect.any(Number),
      pidNamespace: readlinkSync('/proc/self/ns/pid'),
    });
    write(output.staging, { 'stacks/a/cdk.tf.json': '{"a":2}' });
    output.publish();
    expect(snapshot(outdir)).toEqual({ 'manifest.json': '{}', 'stacks/a/cdk.tf.json': '{"a":2}' });
  });
});
