/**
 * The app and the tests skip cdktf's token creation stacks unless MIGRATION_TOKEN_STACKS=1. Each
 * case loads cdktf afresh, as the app does, since the test setup already skipped them here.
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

const creationStackOf = ({ cdktf }: TokenModules) => cdktf.Lazy.anyValue({ produce: () => 'value' }).creationStack;

describe('token creation stacks', () => {
  it('are recorded by cdktf when nothing skips them', () => {
    expect(creationStackOf(freshModules()).length).toBeGreaterThan(0);
  });

  it('are skipped by default', () => {
    const modules = freshModules();
    expect(modules.skip({})).toBe(true);
    expect(creationStackOf(modules)).toEqual([]);
  });

  it('are kept with MIGRATION_TOKEN_STACKS=1, for debugging a token that cannot be resolved', () => {
    const modules = freshModules();
    expect(modules.skip({ MIGRATION_TOKEN_STACKS: '1' })).toBe(false);
    expect(creationStackOf(modules).length).toBeGreaterThan(0);
  });
});
