/** `MIGRATION_DEPLOYER_PRINCIPAL_ID`: the identity that gets the deployer's roles, as `npm run synth` reads it. */
import { GUID_PATTERN } from './plan/rules';

/** The variable {@link deployerPrincipalIdFromEnvironment} reads. */
const VARIABLE = 'MIGRATION_DEPLOYER_PRINCIPAL_ID';

/**
 * The stack's `deployerPrincipalId` from `MIGRATION_DEPLOYER_PRINCIPAL_ID` (blank or unset: `undefined`, the
 * identity running Terraform, `azurerm_client_config`), as the package's own app reads it, its ends trimmed (a CI
 * variable's trailing space or line break) and in lower case: the Entra ID object id of the identity that gets the deployer's roles
 * (the DAG blobs' upload; the Kubernetes host's cluster admin and Key Vault Secrets Officer, which its second stack
 * uses) whoever applies. A value that is not a GUID throws an Error naming the variable (the stack would name its
 * prop, which the user never set).
 */
export function deployerPrincipalIdFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[VARIABLE]?.trim();
  if (!value) return undefined;
  if (!GUID_PATTERN.test(value)) {
    throw new Error(
      `Invalid ${VARIABLE} "${value}": the object id of the identity that applies the stacks, a GUID such as ` +
        '00000000-0000-0000-0000-000000000000 (yours: az ad signed-in-user show --query id -o tsv; a service principal\'s, ' +
        'not its client id: az ad sp show --id <client id> --query id -o tsv)',
    );
  }
  return value.toLowerCase(); // as Azure answers it: a principal_id in another case is a change to plan (and it forces a new assignment)
}
