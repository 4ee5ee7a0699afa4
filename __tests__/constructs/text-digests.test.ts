import { createHash } from 'node:crypto';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { md5Hex, rememberedCharacters, sha256After, sha256Hex } from '../../lib/private/text-digests';

const digest = (algorithm: 'md5' | 'sha256', text: string) => createHash(algorithm).update(text, 'utf8').digest('hex');
const hashOfParts = (parts: { name: string; text: string }[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part.name).update('\0').update(part.text).update('\0');
  return hash.digest('hex');
};

describe('remembered digests', () => {
  it('are the MD5 and SHA-256 of the UTF-8 bytes, asked once or again', () => {
    for (const text of ['', 'PLAN = 1\n', 'Café Ünïcode 数据库 🙂', 'x'.repeat(300_000)]) {
      expect(md5Hex(text)).toBe(digest('md5', text));
      expect(sha256Hex(text)).toBe(digest('sha256', text));
      expect(md5Hex(text)).toBe(digest('md5', text));
      expect(sha256Hex(text)).toBe(digest('sha256', text));
    }
  });

  it('stay right past what the caches hold, which the oldest texts leave: 8 Mi characters at most, none over 1 Mi', () => {
    const texts = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(1024 * 1024, String.fromCharCode(97 + (i % 26))));
    for (const text of [...texts, ...texts]) {
      expect(sha256Hex(text)).toBe(digest('sha256', text));
      expect(rememberedCharacters().sha256).toBeLessThanOrEqual(8 * 1024 * 1024);
    }
    expect(rememberedCharacters().sha256).toBeGreaterThan(7 * 1024 * 1024);
    const before = rememberedCharacters().md5;
    md5Hex('x'.repeat(1024 * 1024 + 1));
    expect(rememberedCharacters().md5).toBe(before);
  });

  it('continue a hash after a remembered prefix as if every part were hashed in turn', () => {
    const prefix = [
      { name: 'dags/a.py', text: 'A = 1\n' },
      { name: 'dags/b.py', text: 'B = 2\n' },
    ];
    const rest = { name: 'dags/plan.json', text: '{"name":"x"}\n' };
    const continued = () => sha256After(prefix).update(rest.name).update('\0').update(rest.text).update('\0').digest('hex');
    expect(continued()).toBe(hashOfParts([...prefix, rest]));
    // The remembered state is copied: a second use after a digest still works and agrees.
    expect(continued()).toBe(hashOfParts([...prefix, rest]));
    const changed = [prefix[0], { name: 'dags/b.py', text: 'B = 3\n' }];
    expect(sha256After(changed).digest('hex')).toBe(hashOfParts(changed));
    const renamed = [prefix[0], { name: 'dags/c.py', text: 'B = 2\n' }];
    expect(sha256After(renamed).digest('hex')).toBe(hashOfParts(renamed));
  });
});

describe("the DAG bundle's digests", () => {
  it('are those of its files: MD5 per blob, and a content hash over every file in order', () => {
    for (const plan of ['{"name":"x"}\n', '{"name":"y"}\n', '{"name":"x"}\n']) {
      const bundle = loadDagBundle(plan);
      for (const file of bundle.files) expect(file.contentMd5).toBe(digest('md5', file.content));
      expect(bundle.contentHash).toBe(hashOfParts(bundle.files.map((file) => ({ name: file.blobName, text: file.content }))));
    }
  });
});
