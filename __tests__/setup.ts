// cdktf's jest matchers (toHaveResourceWithProperties, ...), as Testing.setupJest() registers them, from their own
// module: importing `cdktf` here loaded the whole library into every test file, also those that never synthesize.
import { setupJest } from 'cdktf/lib/testing/adapters/jest';

setupJest();
