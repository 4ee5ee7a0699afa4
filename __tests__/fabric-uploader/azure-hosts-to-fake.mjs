// Loaded into the uploader's process by the tests (node --import): sends its requests for the fixed
// Azure addresses it knows (Entra ID's login host, the Instance Metadata Service) to the fake, so the
// uploader reads no test-only variable to be pointed elsewhere. FAKE_AZURE_ROUTES maps an origin
// (https://login.microsoftonline.com) to the fake's; a rerouted request carries the origin it was
// meant for in X-Fake-Original-Origin. Other requests go where they were sent. It imports nothing of
// the uploader.
const routes = JSON.parse(process.env.FAKE_AZURE_ROUTES ?? '{}');
const realFetch = globalThis.fetch;

globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const target = routes[url.origin];
  if (target === undefined) {
    return realFetch(input, init);
  }
  const headers = new Headers(init?.headers);
  headers.set('X-Fake-Original-Origin', url.origin);
  return realFetch(new URL(`${url.pathname}${url.search}`, target), { ...init, headers });
};
