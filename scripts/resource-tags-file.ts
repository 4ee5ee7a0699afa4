/** scripts/resource-tags.json, which `npm run resource-tags` (generate-resource-tags.ts) writes and the plan-tags test reads. */
import { replaceFile } from './replace-file';

export const RESOURCE_TAGS_FILE = 'scripts/resource-tags.json';

/** What `scripts/resource-tags.json` holds. */
export interface ResourceTagsFile {
  readonly providers: readonly string[];
  /** Resource type to the Terraform type of its `tags` argument (`map(string)`), null without one. */
  readonly tags: Readonly<Record<string, string | null>>;
}

/** Writes the file whole or not at all (a full disk left it cut short, and plan-tags failing on it). */
export function writeResourceTagsFile(path: string, file: ResourceTagsFile): void {
  replaceFile(path, `${JSON.stringify(file, null, 2)}\n`);
}
