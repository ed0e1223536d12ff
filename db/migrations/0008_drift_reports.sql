ALTER TABLE "drift_reports" DROP CONSTRAINT "drift_reports_model_day";--> statement-breakpoint
ALTER TABLE "drift_reports" ALTER COLUMN "model_version_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD COLUMN "score" double precision;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD COLUMN "drift_score" double precision;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD COLUMN "digest" text NOT NULL;--> statement-breakpoint
ALTER TABLE "learning_events" ADD COLUMN "is_label" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_dedupe_key" UNIQUE("dedupe_key");--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_tenant_day" UNIQUE("tenant_id","day");--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_digest" CHECK (digest ~ '^[0-9a-f]{64}$');