import { Testing } from 'cdktf';
import { skipTokenCreationStacks } from '../lib/private/token-creation-stacks';

Testing.setupJest();
// As the app does; under jest each creation stack was also source-mapped through the providers' megabyte inline maps.
skipTokenCreationStacks();
