/**
 * The one-resource reference app: the floor for any cdktf stack with the azurerm provider.
 * Plain compiled JavaScript with deep imports (no root import of @cdktf/provider-azurerm),
 * one provider and one resource group. The benchmark copies it into a temporary directory
 * beside a cdktf.json and runs it directly (`node ref.js`) and through `cdktf synth`.
 */
'use strict';
const { App, TerraformStack } = require('cdktf');
const { AzurermProvider } = require('@cdktf/provider-azurerm/lib/provider');
const { ResourceGroup } = require('@cdktf/provider-azurerm/lib/resource-group');

const app = new App();
const stack = new TerraformStack(app, 'reference');
new AzurermProvider(stack, 'azurerm', { features: [{}] });
new ResourceGroup(stack, 'ResourceGroup', { name: 'rg-reference', location: 'westeurope' });
app.synth();
