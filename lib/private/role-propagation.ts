import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { TimeProvider } from '@cdktf/provider-time/lib/provider';
import { Sleep } from '@cdktf/provider-time/lib/sleep';
import { Construct } from 'constructs';
import { ensureProvider } from './ensure-provider';

/** hashicorp/time 0.13 is what `@cdktf/provider-time` 11 binds and `npm run validate` runs. */
const TIME_PROVIDER_VERSION = '~> 0.13';

/**
 * A `time_sleep` after role assignments, for what uses them next: Azure RBAC changes "can take up
 * to 10 minutes" to reach a data plane (MicrosoftDocs "Troubleshoot Azure RBAC"). `roles` are keyed
 * by trigger name, so a replaced assignment (a new id) waits again. Adds the stack's `time` provider
 * on first use, so the construct works in any stack without the user declaring it.
 */
export function waitForRoles(scope: Construct, id: string, duration: string, roles: Record<string, RoleAssignment>): Sleep {
  ensureProvider(scope, TimeProvider, (stack) => {
    // The package's own constraint (~> 0.7) admits releases older than the one it binds.
    stack.addOverride('terraform.required_providers.time.version', TIME_PROVIDER_VERSION);
    return new TimeProvider(stack, 'time');
  });
  const triggers = Object.fromEntries(Object.entries(roles).map(([name, role]) => [name, role.id]));
  return new Sleep(scope, id, { createDuration: duration, triggers, dependsOn: Object.values(roles) });
}
