ALTER TABLE "alerts" ADD COLUMN "label" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "note" text;--> statement-breakpoint
CREATE INDEX "alerts_tenant" ON "alerts" USING btree ("tenant_id","created_at");--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_label_valid" CHECK (label IS NULL OR label IN ('true_positive','false_positive'));