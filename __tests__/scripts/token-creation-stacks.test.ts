/**
 * The app and the tests skip cdktf's token creation stacks unless MIGRATION_TOKEN_STACKS=1. Each
 * case loads cdktf afresh, as the app does, since the test setup already skipped them here. The
 * CDK Terrain test (scripts/cdktn-test.sh) runs this file with `cdktf` aliased to CDK Terrain, which
 * reads CDKTN_DISABLE_CREATION_STACK instead, and with the second copy (`cdktn`) its azurerm provider loads.
 */
type TokenModules = {
  cdktf: typeof import('cdktf');
  skip: typeof import('../../lib/private/token-creation-stacks').skipTokenCreationStacks;
};

function freshModules(): TokenModules {
  let modules: TokenModules | undefined;
  jest.isolateModules(() => {
    modules = {
      cdktf: require('cdktf') as typeof import('cdktf'),
      skip: (require('../../lib/private/token-creation-stacks') as typeof import('../../lib/private/token-creation-stacks'))
        .skipTokenCreationStacks,
    };
  });
  return modules!;
}

/** The copy of CDK Terrain the fork's azurerm provider loads by name, where it is installed (the CDK Terrain test). */
function cdkTerrainCopy(): typeof import('cdktf') | undefined {
  let copy: typeof import('cdktf') | undefined;
  jest.isolateModules(() => {
    try {
      copy = require('cdktn') as typeof import('cdktf');
    } catch {
      copy = undefined;
    }
  });
  return copy;
}

const creationStackOf = ({ cdktf }: Pick<TokenModules, 'cdktf'>) => cdktf.Lazy.anyValue({ produce: () => 'value' }).creationStack;

describe('token creation stacks', () => {
  const SWITCHES = ['MIGRATION_TOKEN_STACKS', 'CDKTN_DISABLE_CREATION_STACK'] as const;
  const before = Object.fromEntries(SWITCHES.map((name) => [name, process.env[name]]));
  beforeEach(() => SWITCHES.forEach((name) => delete process.env[name]));
  afterAll(() => SWITCHES.forEach((name) => (before[name] === undefined ? delete process.env[name] : (process.env[name] = before[name]))));

  it('are recorded by cdktf when nothing skips them', () => {
    expect(creationStackOf(freshModules()).length).toBeGreaterThan(0);
  });

  it('are skipped by default', () => {
    const modules = freshModules();
    expect(modules.skip()).toBe(true);
    expect(creationStackOf(modules)).toEqual([]);
  });

  it('are kept with MIGRATION_TOKEN_STACKS=1, for debugging a token that cannot be resolved', () => {
    const modules = freshModules();
    process.env.MIGRATION_TOKEN_STACKS = '1';
    expect(modules.skip()).toBe(false);
    expect(creationStackOf(modules).length).toBeGreaterThan(0);
  });

  it("are skipped on CDK Terrain by its own switch, which the skip sets unless it was set (a value the user gave wins)", () => {
    freshModules().skip();
    expect(process.env.CDKTN_DISABLE_CREATION_STACK).toBe('1');
    process.env.CDKTN_DISABLE_CREATION_STACK = '0';
    freshModules().skip();
    expect(process.env.CDKTN_DISABLE_CREATION_STACK).toBe('0');
  });

  const terrain = cdkTerrainCopy();
  (terrain === undefined ? it.skip : it)('are skipped by the copy of CDK Terrain its azurerm provider loads, where it is installed', () => {
    expect(creationStackOf({ cdktf: terrain! }).length).toBeGreaterThan(0);
    freshModules().skip();
    expect(creationStackOf({ cdktf: terrain! })).toEqual([]);
  });
});
