CREATE TABLE "model_artifacts" (
	"tenant_id" text NOT NULL,
	"sha256" text NOT NULL,
	"model_version_id" uuid,
	"bytes" bigint NOT NULL,
	"kid" text NOT NULL,
	"signature" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "model_artifacts_tenant_id_sha256_pk" PRIMARY KEY("tenant_id","sha256"),
	CONSTRAINT "model_artifacts_sha256" CHECK (sha256 ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "retrain_blacklist" (
	"tenant_id" text NOT NULL,
	"feature_signature" text NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "retrain_blacklist_tenant_id_feature_signature_pk" PRIMARY KEY("tenant_id","feature_signature")
);
--> statement-breakpoint
CREATE TABLE "retrain_fences" (
	"lock_key" text PRIMARY KEY NOT NULL,
	"token" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "retrain_fences_token_positive" CHECK (token >= 1)
);
--> statement-breakpoint
CREATE TABLE "retrain_runs" (
	"saga_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"outcome" text NOT NULL,
	"seconds" double precision DEFAULT 0 NOT NULL,
	"gpu_hours" double precision DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "model_artifacts_model" ON "model_artifacts" USING btree ("model_version_id");--> statement-breakpoint
CREATE INDEX "retrain_runs_tenant" ON "retrain_runs" USING btree ("tenant_id","started_at");