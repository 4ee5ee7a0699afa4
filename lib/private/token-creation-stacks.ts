/**
 * cdktf formats a full stack trace for every token it creates, only to say where a token that
 * cannot be resolved was created: about a tenth of this app's run, and a third of the jest suite,
 * where jest source-maps each one (hashicorp/terraform-cdk#3892). AWS CDK records them only under
 * CDK_DEBUG; CDK Terrain skips them with CDKTN_DISABLE_CREATION_STACK. The app and the tests skip
 * them unless MIGRATION_TOKEN_STACKS=1, for debugging such an error.
 */
// cdktf's modules look the function up on this module's exports at every call.
const stackTrace = require('cdktf/lib/tokens/private/stack-trace') as { captureStackTrace: () => string[] };

export function skipTokenCreationStacks(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MIGRATION_TOKEN_STACKS === '1') return false;
  stackTrace.captureStackTrace = () => [];
  return true;
}
