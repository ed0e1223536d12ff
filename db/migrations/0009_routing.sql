ALTER TABLE "model_versions" ADD COLUMN "canary_traffic_percent" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "critical_segments" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_canary_traffic" CHECK (canary_traffic_percent >= 0 AND canary_traffic_percent <= 100);