/**
 * Change notifications: one message per new flag version on
 * `<prefix>.flags.changed`, which every node's live namespace forwards to
 * connected SDKs.
 */
import type { Logger } from 'pino';
import type { FlagConfig } from '../../actors/flags/model';
import type { FeatureFlagRow } from '../../db/schema/flags';
import { encodeJson } from '../actor-host/protocol';
import type { Bus } from '../ports/bus';
import { configOf } from './flag-dto';

/** What a change message carries (`<prefix>.flags.changed`). */
export interface FlagChange {
  key: string;
  version: number;
  flag: FlagConfig;
}

export function flagsChangedSubject(prefix: string): string {
  return `${prefix}.flags.changed`;
}

/** Publishes a flag's new version; a failure is logged (SDKs catch up on their next snapshot). */
export function publishFlagChange(bus: Bus, prefix: string, log: Logger, row: FeatureFlagRow): void {
  const change: FlagChange = { key: row.key, version: row.version, flag: configOf(row) };
  try {
    bus.publish(flagsChangedSubject(prefix), encodeJson(change));
  } catch (err) {
    log.warn({ err, key: row.key }, 'publishing a flag change failed; SDKs catch up on their next snapshot');
  }
}
