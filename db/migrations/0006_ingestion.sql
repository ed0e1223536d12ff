CREATE TABLE "data_sources" (
	"id" text PRIMARY KEY NOT NULL,
	"public_key_jwk" jsonb,
	"tenant_ids" text[] NOT NULL,
	"require_signature" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "data_sources_key_when_signing" CHECK (NOT require_signature OR public_key_jwk IS NOT NULL)
);
--> statement-breakpoint
ALTER TABLE "learning_events" ADD COLUMN "prediction_id" text;--> statement-breakpoint
ALTER TABLE "learning_events" ADD COLUMN "segment" text;--> statement-breakpoint
CREATE INDEX "learning_events_prediction" ON "learning_events" USING btree ("tenant_id","prediction_id");