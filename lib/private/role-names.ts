/** Built-in Azure role names this library assigns (each scoped to one resource). */
export const BuiltInRole = {
  KEY_VAULT_SECRETS_USER: 'Key Vault Secrets User',
  STORAGE_BLOB_DATA_READER: 'Storage Blob Data Reader',
  STORAGE_BLOB_DATA_CONTRIBUTOR: 'Storage Blob Data Contributor',
  MONITORING_METRICS_PUBLISHER: 'Monitoring Metrics Publisher',
} as const;
