/** `npm run resource-tags` writing scripts/resource-tags.json: whole or not at all, as `npm run schema`. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceTagsFile, writeResourceTagsFile } from '../../scripts/resource-tags-file';
import { withFullDisk } from '../helpers/full-disk';

const FILE: ResourceTagsFile = { providers: ['registry.terraform.io/hashicorp/azurerm 4.55.0'], tags: { azurerm_resource_group: 'map(string)', terraform_data: null } };

describe('npm run resource-tags', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'resource-tags-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the file as JSON with a final newline', () => {
    const file = join(dir, 'resource-tags.json');
    writeResourceTagsFile(file, FILE);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(FILE, null, 2)}\n`);
  });

  test('stopped by a full disk, leaves the file as it was and nothing beside it (was: written in place, cut short)', () => {
    const file = join(dir, 'resource-tags.json');
    writeFileSync(file, '{"old": true}\n');
    expect(() => withFullDisk(() => writeResourceTagsFile(file, FILE))).toThrow(/ENOSPC/);
    expect(readFileSync(file, 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(dir)).toEqual(['resource-tags.json']);
  });
});
