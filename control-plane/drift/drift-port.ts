import type { Principal } from '../../actors/principal';
import type { DriftReportBody } from '../../actors/tenant/drift-window';
import type { PortHandler } from '../actor-host/host';
import type { DriftService } from './drift-service';

/** The drift service as a port of the tenant actor (`call` effects). */
export function driftPort(drift: DriftService): PortHandler {
  return async (op, rawArgs) => {
    const args = rawArgs as Record<string, unknown>;
    switch (op) {
      case 'recomputeDay':
        drift.recomputeDay(args as Parameters<DriftService['recomputeDay']>[0]);
        return { result: null };
      case 'storeReport':
        return { result: null, events: await drift.storeReport(args.tenantId as string, args.report as DriftReportBody) };
      case 'auditBaseline':
        await drift.auditBaseline(args.tenantId as string, args.baseline as Record<string, unknown>, (args.by as Principal | undefined) ?? null);
        return { result: null };
      case 'auditConfig':
        await drift.auditConfig(args.tenantId as string, args.by as Principal, args.before as Record<string, unknown>, args.after as Record<string, unknown>);
        return { result: null };
      default:
        throw new Error(`drift port has no operation ${op}`);
    }
  };
}
