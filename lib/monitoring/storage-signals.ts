/**
 * Blob service signals that exist in Azure Monitor (MicrosoftDocs/azure-reference-other,
 * `supported-logs/.../microsoft-storage-storageaccounts-blobservices-logs-include.md`).
 * Diagnostic settings replace classic Storage Analytics logging, which needs account keys.
 */

/** Every authenticated read, write and delete on the blobs, with the caller's identity. */
export const STORAGE_BLOB_LOG_CATEGORIES: readonly string[] = ['StorageRead', 'StorageWrite', 'StorageDelete'];

/** The blob service's request metrics. */
export const STORAGE_TRANSACTION_METRIC_CATEGORY = 'Transaction';
