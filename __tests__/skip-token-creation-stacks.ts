import { skipTokenCreationStacks } from '../lib/private/token-creation-stacks';

// As the app does; under jest each creation stack was also source-mapped through the providers' megabyte inline maps.
// A setup file run before cdktf loads: cdktf's own modules create tokens as they load.
skipTokenCreationStacks();
