import { createHash, Hash } from 'node:crypto';

/**
 * Hex digests of texts, remembered by the text itself. Every stack of a process (an app of several
 * plans, a test file) bundles the same DAG library, about 750 KB that each stack hashed three times
 * over (MD5 for the blobs, SHA-256 for the manifest and for the bundle's hash) and its host's checks
 * once more. The key is the whole text, so a changed file is another key. Each cache holds at most
 * MAX_CHARACTERS of text, the oldest going first.
 */
const MAX_CHARACTERS = 8 * 1024 * 1024;
const MAX_PREFIXES = 16;

class DigestCache {
  private readonly digests = new Map<string, string>();
  private remembered = 0;

  /** How many characters of text it holds. */
  get characters(): number {
    return this.remembered;
  }

  constructor(private readonly algorithm: 'md5' | 'sha256') {}

  digestOf(text: string): string {
    const known = this.digests.get(text);
    if (known !== undefined) return known;
    const digest = createHash(this.algorithm).update(text, 'utf8').digest('hex');
    if (text.length <= MAX_CHARACTERS / 8) {
      for (const oldest of this.digests.keys()) {
        if (this.remembered + text.length <= MAX_CHARACTERS) break;
        this.digests.delete(oldest);
        this.remembered -= oldest.length;
      }
      this.digests.set(text, digest);
      this.remembered += text.length;
    }
    return digest;
  }
}

const md5s = new DigestCache('md5');
const sha256s = new DigestCache('sha256');
const prefixStates = new Map<string, Hash>();

/** How many characters of text each cache holds now (for its bound's test). */
export function rememberedCharacters(): { md5: number; sha256: number } {
  return { md5: md5s.characters, sha256: sha256s.characters };
}

/** The hex MD5 of a text's UTF-8 bytes. */
export function md5Hex(text: string): string {
  return md5s.digestOf(text);
}

/** The hex SHA-256 of a text's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return sha256s.digestOf(text);
}

/** A part of a hashed sequence: a name and its text, hashed as `name \0 text \0`. */
export interface NamedText {
  readonly name: string;
  readonly text: string;
}

/**
 * A SHA-256 that has taken in `prefix` (each part as `name \0 text \0`), ready for more: the same
 * state as hashing the parts one by one, copied from the last time the same parts came.
 */
export function sha256After(prefix: readonly NamedText[]): Hash {
  const key = prefix.map((part) => `${part.name}\0${sha256Hex(part.text)}`).join('\0');
  let state = prefixStates.get(key);
  if (state === undefined) {
    state = createHash('sha256');
    for (const part of prefix) state.update(part.name).update('\0').update(part.text).update('\0');
    if (prefixStates.size >= MAX_PREFIXES) prefixStates.delete(prefixStates.keys().next().value as string);
    prefixStates.set(key, state);
  }
  return state.copy();
}
