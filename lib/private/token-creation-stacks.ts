/**
 * cdktf formats a full stack trace for every token it creates, only to say where a token that
 * cannot be resolved was created: about a tenth of this app's run, and a third of the jest suite,
 * where jest source-maps each one (hashicorp/terraform-cdk#3892). AWS CDK records them only under
 * CDK_DEBUG. The app and the tests skip them unless MIGRATION_TOKEN_STACKS=1, for debugging such an error.
 */
// cdktf 0.21's modules look the function up on this module's exports at every call.
const stackTrace = require('cdktf/lib/tokens/private/stack-trace') as { captureStackTrace: () => string[] };

/**
 * CDK Terrain (0.24) asks `captureCreationStack`, which calls its own `captureStackTrace` directly,
 * so the patch above does nothing there; it skips them when this variable is "1" or "true", read at
 * every token. Switched through npm aliases (docs/cdk-terrain.md) it is loaded twice (`cdktf` and the
 * `cdktn` the azurerm provider loads): the variable reaches both copies.
 */
const CDK_TERRAIN_SWITCH = 'CDKTN_DISABLE_CREATION_STACK';

export function skipTokenCreationStacks(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MIGRATION_TOKEN_STACKS === '1') return false;
  stackTrace.captureStackTrace = () => [];
  env[CDK_TERRAIN_SWITCH] ??= '1';
  return true;
}
