import { createHash } from 'node:crypto';
import { Token } from 'cdktf';
import { IConstruct } from 'constructs';
import { checkProp } from './prop-checks';

/**
 * Cloud Adoption Framework names: `<slug>-<prefix>` for resources that allow hyphens, and a
 * compact `<slug><prefix><suffix>` for globally unique ones that do not (storage) or that are
 * short (Key Vault). Length limits are enforced here, before Azure rejects a deployment.
 */

/** Azure's limits for the names this library generates. */
const MAX_LENGTH = {
  keyVault: 24,
  storageAccount: 24,
  dataCollectionEndpoint: 44,
} as const;

/** Data collection endpoints allow 3-44 characters, so `dce-` leaves 40 for the prefix. */
const NAME_PREFIX_MAX = MAX_LENGTH.dataCollectionEndpoint - 'dce-'.length;
const NAME_PREFIX_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The `namePrefix` of a construct, checked before it goes into names Azure checks only at deploy
 * (`adf-`, `dms-`, `kv-`, `dce-`): lowercase letters, digits and single inner hyphens, as a plan name.
 */
export function validateNamePrefix(scope: IConstruct, namePrefix: string): void {
  if (Token.isUnresolved(namePrefix)) {
    return;
  }
  if (namePrefix.length > NAME_PREFIX_MAX || !NAME_PREFIX_PATTERN.test(namePrefix)) {
    throw new Error(`${scope.node.path}: namePrefix must be 1 to ${NAME_PREFIX_MAX} lowercase letters, digits and inner hyphens (got "${namePrefix}")`);
  }
  checkNoDoubleHyphen(scope, namePrefix);
}

/** Key Vault (`kv-<prefix>-xxxx`) and Data Factory (`adf-<prefix>`, `shir-<prefix>`, `ir-<prefix>-vnet`) names refuse "--". */
export function checkNoDoubleHyphen(scope: IConstruct, namePrefix: string): void {
  checkProp(scope, 'namePrefix', namePrefix, (prefix) => !prefix.includes('--'), 'free of "--" (Key Vault and Data Factory names refuse consecutive hyphens)');
}

/** `rg-contoso-sql`, `log-contoso-sql`, `adf-contoso-sql`, ... */
export function resourceName(slug: string, prefix: string): string {
  return `${slug}-${prefix}`;
}

/**
 * A short, stable suffix of globally unique names, from the plan name and region. The same plan
 * name in the same region (another subscription or environment) gets the same suffix, so names
 * Azure refuses as taken: one plan name is one deployment. The seed must be literal text:
 * a reference's token text changes whenever the construct tree does, and with it the name, which
 * would replace the resource (a protected Key Vault cannot be replaced at all).
 */
export function uniqueSuffix(seed: string, length = 4): string {
  if (Token.isUnresolved(seed)) {
    throw new Error(`a name seed must be literal text, not a reference (got "${seed}"): use the plan name and location`);
  }
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** The seed of every generated globally unique name: the plan name and region, known at synth. */
export function nameSeed(namePrefix: string, location: string): string {
  return `${namePrefix}/${location}`;
}

/** `dce-contoso-sql` (3-44 characters): a longer prefix than the plain `dce-<namePrefix>` may not fit. */
export function dataCollectionEndpointName(prefix: string): string {
  const name = resourceName('dce', prefix);
  return Token.isUnresolved(prefix) ? name : checkLength(name, MAX_LENGTH.dataCollectionEndpoint, 'data collection endpoint');
}

/** `kv-contoso-sql-1a2b` (3-24 chars, letters, digits, hyphens). */
export function keyVaultName(prefix: string, seed: string): string {
  return checkLength(`kv-${prefix}-${uniqueSuffix(seed)}`, MAX_LENGTH.keyVault, 'Key Vault');
}

/** `stcontososqldag1a2b` (3-24 lowercase letters and digits). */
export function storageAccountName(prefix: string, purpose: string, seed: string): string {
  const compact = `st${prefix}${purpose}`.replace(/[^a-z0-9]/g, '');
  const suffix = uniqueSuffix(seed);
  const room = MAX_LENGTH.storageAccount - suffix.length;
  return checkLength(`${compact.slice(0, room)}${suffix}`, MAX_LENGTH.storageAccount, 'storage account');
}

function checkLength(name: string, max: number, what: string): string {
  if (name.length > max) {
    throw new Error(`${what} name "${name}" is ${name.length} characters; Azure allows ${max}: shorten namePrefix`);
  }
  return name;
}
