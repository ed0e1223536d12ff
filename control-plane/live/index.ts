export { attachLive, LIVE_PATH, type LiveChannel, type LiveDeps, type LiveOptions } from './live-channel';
export { DeltaLog } from './delta-log';
export type { Delta, Hello, SessionEnded, SubscribeReply, SubscribeRequest, TenantSummary } from './protocol';
export type { TenantDetail } from './protocol';
