/** `tollgate/openfeature`: the OpenFeature provider for Tollgate feature flags. */
export { TollgateFlagsProvider, subjectOf, type TollgateProviderOptions } from './provider';
export { FlagSet, type Evaluation, type EvaluationReason } from '../../actors/flags/evaluate';
export type { FlagConfig, Subject, Profile, Audience } from '../../actors/flags/model';
