import type { Principal } from '../../actors/principal';
import type { PortHandler } from '../actor-host/host';
import type { RegistryService, TransitionCommand } from './registry-service';

interface Args {
  tenantId?: string;
  modelId?: string;
  by: Principal;
  input: Record<string, unknown>;
}

/**
 * The registry as a port of the actors: the tenant and model-version actors
 * call it through `call` effects; it returns the result and the events to
 * publish once it has committed.
 */
export function registryPort(registry: RegistryService): PortHandler {
  return async (op, rawArgs) => {
    const { tenantId, modelId, by, input } = rawArgs as Args;
    switch (op) {
      case 'createTenant': {
        const t = await registry.createTenant({ ...(input as { name: string }), id: tenantId! }, by);
        return { result: t, events: [{ tenantId: t.id, type: 'tenant.created', data: t }] };
      }
      case 'createModel': {
        const m = await registry.createModel(tenantId!, input as Parameters<RegistryService['createModel']>[1], by);
        return { result: m, events: [{ tenantId: m.tenantId, type: 'model.registered', data: m }] };
      }
      case 'transition': {
        const { model, replayed } = await registry.transitionWithOutcome(modelId!, input as unknown as TransitionCommand, by);
        return { result: model, events: replayed ? [] : [{ tenantId: model.tenantId, type: 'model.transitioned', data: model }] };
      }
      case 'recordApproval': {
        const a = await registry.recordApproval(modelId!, input as { decision: 'approve' | 'reject'; justification: string }, by);
        const model = await registry.getModel(modelId!);
        return { result: a, events: [{ tenantId: model.tenantId, type: 'model.approval', data: a }] };
      }
      case 'setCanaryTraffic': {
        const m = await registry.setCanaryTraffic(modelId!, input as { percent: number; reason: string }, by);
        return { result: m, events: [{ tenantId: m.tenantId, type: 'canary.traffic', data: m }] };
      }
      case 'rollback': {
        const r = await registry.rollback(tenantId!, input as { reason: string; trigger?: string }, by);
        return {
          result: r,
          events: [
            { tenantId: tenantId!, type: 'model.transitioned', data: r.rolledBack },
            { tenantId: tenantId!, type: 'model.transitioned', data: r.restored },
            { tenantId: tenantId!, type: 'tenant.rollback', data: { tenantId, from: r.rolledBack.id, to: r.restored.id, reason: r.reason, at: r.at } },
            { tenantId: tenantId!, type: 'tenant.updated', data: r.tenant },
          ],
        };
      }
      default:
        throw new Error(`registry port has no operation ${op}`);
    }
  };
}
