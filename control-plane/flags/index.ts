/** Feature flags (issue #11): the service, the live namespace and the change subject. */
export { FlagService, flagsChangedSubject, TRIGGER_PRINCIPAL, type FlagChange, type FlagServiceDeps, type CreateFlagInput } from './flag-service';
export { attachFlagsNamespace, FLAGS_NAMESPACE, type FlagsNamespaceDeps } from './live-namespace';
export { ledgerMarkdown } from './ledger-export';
