import type { Logger } from 'pino';
import type { TenantStage } from '../../db/schema/enums';
import type { ActorClient } from '../actor-host/client';
import type { Bus, Subscription } from '../ports/bus';
import type { RegistryService } from '../registry/registry-service';

/**
 * Starts a version's promotion when it enters SHADOW (on every node: the
 * model actor ignores a second start).
 */
export function startPromotionsOnShadow(deps: { bus: Bus; actors: ActorClient; registry: RegistryService; prefix: string; log: Logger }): Subscription {
  return deps.bus.subscribe(`${deps.prefix}.evt.*.model.transitioned`, (msg) => {
    let model: { id: string; tenantId: string; state: string };
    try {
      model = JSON.parse(new TextDecoder().decode(msg.data)) as typeof model;
    } catch {
      return;
    }
    if (model.state !== 'SHADOW') return;
    void (async () => {
      const tenant = await deps.registry.getTenant(model.tenantId);
      await deps.actors.ask('model', model.id, {
        type: 'startPromotion',
        tenantId: model.tenantId,
        tenantStage: tenant.stage as TenantStage,
        rolloutPolicy: tenant.rolloutPolicy,
        riskMatrix: tenant.riskMatrix,
      });
    })().catch((err: unknown) => deps.log.warn({ err, modelId: model.id }, 'could not start a promotion'));
  });
}
