/** Puts environment variable `name` back as it was before the describe block, after each test that sets it. */
export function restoreEnvironmentAfterEach(name: string): void {
  const saved = process.env[name];
  afterEach(() => {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  });
}
