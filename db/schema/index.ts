export * from './enums';
export * from './registry';
export * from './learning';
export * from './audit';
export * from './identity';
export * from './actors';
export * from './streams';
export * from './cluster';
