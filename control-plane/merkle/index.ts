export * from './rfc6962';
export { MerkleTree } from './tree';
