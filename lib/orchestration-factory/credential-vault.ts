import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { GrantOptions, IGrantee } from '../core/grants';
import { ResourceLock } from '../core/protection';
import { IKeyVault, IResourceGroup } from '../core/references';
import { LOCK, RESOURCE_GROUP, checkGuid, checkKeyVaultName, IF_GIVEN, PASSED_ON_STRINGS, requireProps } from '../private/prop-checks';
import { applyProtection } from '../private/protection';
import { assignRole } from '../private/role-assignment';
import { BuiltInRole } from '../private/role-names';
import { checkRegion } from '../private/azure-regions';
import { requireArgument } from '../private/required-fields';
import { warn } from '../core/warnings';

/** Props of {@link CredentialVault}. */
export interface CredentialVaultProps {
  /** Where the vault is created. */
  readonly resourceGroup: IResourceGroup;
  /** Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, not ending with a hyphen, no `--`; globally unique. */
  readonly vaultName: string;
  /** Azure region of the vault. */
  readonly location: string;
  /** Entra ID tenant that authenticates requests to the vault. */
  readonly tenantId: string;
  /**
   * Tags on the vault.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * `prevent_destroy` on the vault, so Terraform refuses to delete it.
   * @default true (warns when false)
   */
  readonly preventDestroy?: boolean;
  /**
   * A management lock on the vault, which stops deletion outside Terraform too.
   * @default - no lock
   */
  readonly lock?: ResourceLock;
  /**
   * Network default action. `Allow` because the Fabric and adopted Data Factory hosts have no fixed
   * egress addresses to allow-list; access is still Entra ID + RBAC only.
   * @default "Allow"
   */
  readonly networkDefaultAction?: 'Allow' | 'Deny';
  /** IP ranges let in when `networkDefaultAction` is `Deny` (refused with `Allow`, where they would restrict nothing). @default [] */
  readonly allowedIpRanges?: readonly string[];
}

/**
 * The Key Vault holding the SQL credentials: the linked services' connection strings and the
 * Airflow connections (`airflow-connections-<id>`). RBAC only, purge protection, soft delete;
 * Terraform never writes a secret, so no credential reaches the state or the synthesized JSON.
 */
export class CredentialVault extends Construct implements IKeyVault {
  /** The `azurerm_key_vault` resource. */
  public readonly vault: KeyVault;
  /** ARM id of the vault. */
  public readonly id: string;
  /** Name of the vault. */
  public readonly name: string;
  /** `https://<name>.vault.azure.net/` */
  public readonly vaultUri: string;

  constructor(scope: Construct, id: string, props: CredentialVaultProps) {
    requireProps(scope, id, 'CredentialVault', props, {
      resourceGroup: RESOURCE_GROUP,
      vaultName: 'string',
      location: 'string',
      tenantId: 'string',
      tags: IF_GIVEN.map,
      preventDestroy: IF_GIVEN.boolean,
      lock: LOCK,
      // 'deny' would read as not 'Deny' below (allowedIpRanges refused as restricting nothing), and azurerm refuses it.
      networkDefaultAction: { ifGiven: { oneOf: ['Allow', 'Deny'] } },
      allowedIpRanges: PASSED_ON_STRINGS,
    });
    super(scope, id);
    checkKeyVaultName(this, 'vaultName', props.vaultName);
    checkGuid(this, 'tenantId', props.tenantId);
    checkRegion(this, 'location', props.location);
    const preventDestroy = props.preventDestroy ?? true;
    if (props.allowedIpRanges?.length && props.networkDefaultAction !== 'Deny') {
      throw new Error(
        `allowedIpRanges restricts nothing while networkDefaultAction is 'Allow' (the default): set networkDefaultAction: 'Deny' to let in only those ranges and trusted Azure services`,
      );
    }
    this.vault = new KeyVault(this, 'Vault', {
      name: props.vaultName,
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      tenantId: props.tenantId,
      skuName: 'standard',
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
      publicNetworkAccessEnabled: true,
      networkAcls: {
        defaultAction: props.networkDefaultAction ?? 'Allow',
        bypass: 'AzureServices',
        // Handed on as it is: a list token (Fn.concat's string) would be spread into its characters.
        ipRules: props.allowedIpRanges as string[] | undefined,
      },
      tags: props.tags,
      lifecycle: preventDestroy ? { preventDestroy: true } : undefined,
    });
    this.id = this.vault.id;
    this.name = this.vault.name;
    this.vaultUri = this.vault.vaultUri;
    applyProtection(this, 'Key Vault', this.vault, { preventDestroy, lock: props.lock });
  }

  /**
   * Lets `grantee` read the vault's secrets (Airflow's secrets backend, a Data Factory's Key Vault
   * linked service): `Key Vault Secrets User` on the vault. `options.id` defaults to `ReadsSecrets`.
   */
  public grantReadSecrets(grantee: IGrantee, options: GrantOptions = {}): RoleAssignment {
    return assignSecretsUser(this, this, grantee, options);
  }
}

/**
 * {@link CredentialVault.grantReadSecrets} for a vault you refer to ({@link IKeyVault}: a `KeyVault`,
 * a `DataAzurermKeyVault` or a literal), which has no construct to put the assignment in: `scope` is
 * where it goes. `Key Vault Secrets User` on the vault, which works only on a vault with RBAC
 * authorization (`rbac_authorization_enabled`), not on one with access policies: a `KeyVault` of
 * your stack that does not set `rbacAuthorizationEnabled` to true draws a synth warning (a vault
 * you look up is not checked).
 * `options.id` defaults to `ReadsSecrets`.
 */
export function grantReadSecrets(scope: Construct, vault: IKeyVault, grantee: IGrantee, options: GrantOptions = {}): RoleAssignment {
  const smallestCall = 'grantReadSecrets(stack, vault, host.identity)';
  const withStrings = (value: unknown, ...fields: string[]) =>
    typeof value === 'object' && value !== null && fields.every((field) => typeof (value as Record<string, unknown>)[field] === 'string');
  requireArgument('grantReadSecrets', scope, Construct.isConstruct, 'the construct the role assignment goes in', smallestCall);
  requireArgument('grantReadSecrets', vault, (value) => withStrings(value, 'id', 'name'), 'the vault, an object with its id and name', smallestCall);
  requireArgument('grantReadSecrets', grantee, (value) => withStrings(value, 'principalId'), 'the grantee, an object with its principalId', smallestCall);
  const assignment = assignSecretsUser(scope, vault, grantee, options);
  if (vault instanceof KeyVault && !rbacAuthorizationMayBeOn(vault)) {
    // Azure creates a vault with enableRbacAuthorization false unless told otherwise: access policies, where a role grants no data access.
    warn(assignment, 'migration:credential-vault:access-policies',
      `Key Vault ${vault.node.path} does not set rbacAuthorizationEnabled to true, so it authorizes reads of its secrets by access policy, ` +
        'and Key Vault Secrets User lets the grantee read nothing there: set rbacAuthorizationEnabled: true on the vault, or give the grantee an access policy with secret get and list',
    );
  }
  return assignment;
}

/** Whether the vault's permission model is (or, for a value known only at apply, may be) Azure RBAC. */
function rbacAuthorizationMayBeOn(vault: KeyVault): boolean {
  return [vault.rbacAuthorizationEnabledInput, vault.enableRbacAuthorizationInput].some((value) => value === true || Token.isUnresolved(value));
}

function assignSecretsUser(scope: Construct, vault: IKeyVault, grantee: IGrantee, options: GrantOptions): RoleAssignment {
  return assignRole(scope, options.id ?? 'ReadsSecrets', grantee, {
    resourceId: vault.id,
    roleDefinitionName: BuiltInRole.KEY_VAULT_SECRETS_USER,
    description: options.description ?? `Reads the secrets of Key Vault ${vault.name} (database migration)`,
  });
}
