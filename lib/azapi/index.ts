export * from './provider';
export * from './resource';
export * from './resource-action';
