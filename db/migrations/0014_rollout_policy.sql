ALTER TABLE "tenants" ADD COLUMN "rollout_policy" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "risk_matrix" jsonb DEFAULT '{}'::jsonb NOT NULL;