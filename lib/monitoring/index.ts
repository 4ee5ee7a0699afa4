export * from './alert-timing';
export * from './alerts';
export * from './data-factory-signals';
export * from './migration-events';
export * from './migration-monitoring';
