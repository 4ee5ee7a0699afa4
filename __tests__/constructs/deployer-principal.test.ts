import { deployerPrincipalIdFromEnvironment } from '../../lib';

describe('deployerPrincipalIdFromEnvironment (MIGRATION_DEPLOYER_PRINCIPAL_ID, as npm run synth reads it)', () => {
  it('is undefined unset or blank, the GUID with its ends trimmed in lower case (as Azure answers it), and an error naming the variable otherwise', () => {
    expect(deployerPrincipalIdFromEnvironment({})).toBeUndefined();
    expect(deployerPrincipalIdFromEnvironment({ MIGRATION_DEPLOYER_PRINCIPAL_ID: ' \n' })).toBeUndefined();
    expect(deployerPrincipalIdFromEnvironment({ MIGRATION_DEPLOYER_PRINCIPAL_ID: ' 0F1E2D3C-4b5a-6978-8796-a5b4c3d2e1f0\n' })).toBe('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
    for (const value of ['deploy-sp', '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f', '{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}']) {
      expect(() => deployerPrincipalIdFromEnvironment({ MIGRATION_DEPLOYER_PRINCIPAL_ID: value })).toThrow(
        new RegExp(`^Invalid MIGRATION_DEPLOYER_PRINCIPAL_ID "${value.replace(/[{}]/g, '\\$&')}": the object id of the identity that applies the stacks, a GUID`),
      );
    }
  });
});
