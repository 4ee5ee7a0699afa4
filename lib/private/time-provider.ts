import { TimeProvider } from '@cdktf/provider-time/lib/provider';
import { TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';

/** hashicorp/time 0.13 is what `@cdktf/provider-time` 11 binds and `npm run validate` runs. */
const TIME_PROVIDER_VERSION = '~> 0.13';

/**
 * The stack's `time` provider, added once on first use, so a construct that waits (`time_sleep`)
 * works in any stack without the user declaring the provider.
 */
export function ensureTimeProvider(scope: IConstruct): TimeProvider {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.children.find((child): child is TimeProvider => child instanceof TimeProvider);
  if (existing) {
    return existing;
  }
  // The package's own constraint (~> 0.7) admits releases older than the one it binds.
  stack.addOverride('terraform.required_providers.time.version', TIME_PROVIDER_VERSION);
  return new TimeProvider(stack, 'time');
}
