import type { LedgerEntry } from '../../actors/gates/engine';
import type { PortHandler } from '../actor-host/host';
import type { MeasureArgs, PromotionService } from './promotion-service';

/** The promotion service as a port of the model-version actor (`call` effects). */
export function promotionPort(promotion: PromotionService): PortHandler {
  return async (op, rawArgs) => {
    const args = rawArgs as Record<string, unknown>;
    switch (op) {
      case 'measure':
        promotion.measure(args as unknown as MeasureArgs);
        return { result: null };
      case 'apply':
        return { result: null, events: await promotion.apply(args as Parameters<PromotionService['apply']>[0]) };
      case 'ledger':
        await promotion.ledger(args.modelId as string, args.tenantId as string, args.entries as LedgerEntry[]);
        return { result: null };
      default:
        throw new Error(`promotion port has no operation ${op}`);
    }
  };
}
