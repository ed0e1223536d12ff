CREATE TABLE "approvals" (
	"id" uuid PRIMARY KEY NOT NULL,
	"model_version_id" uuid NOT NULL,
	"approver" text NOT NULL,
	"role" text NOT NULL,
	"decision" text NOT NULL,
	"justification" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approvals_decision_valid" CHECK (decision IN ('approve','reject')),
	CONSTRAINT "approvals_role_valid" CHECK (role IN ('AGRONOMIST','MANAGER','ADMIN')),
	CONSTRAINT "approvals_justification_nonempty" CHECK (length("approvals"."justification") > 0)
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"label" text NOT NULL,
	"owner" text,
	"feature_signature" text NOT NULL,
	"artifact_sha256" text,
	"parent_id" uuid,
	"previous_stable_id" uuid,
	"state" text DEFAULT 'DRAFT' NOT NULL,
	"canary_verdict" text,
	"revision" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_tenant_label" UNIQUE("tenant_id","label"),
	CONSTRAINT "model_versions_state_valid" CHECK (state IN ('DRAFT','TRAINING','VALIDATED','SHADOW','CANARY','CHAMPION','DEPRECATED','FAILED','QUARANTINED','ROLLED_BACK')),
	CONSTRAINT "model_versions_canary_verdict_valid" CHECK (canary_verdict IS NULL OR canary_verdict IN ('PASSED','FAILED','INCONCLUSIVE')),
	CONSTRAINT "model_versions_artifact_sha256" CHECK (artifact_sha256 IS NULL OR artifact_sha256 ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "model_versions_revision_nonneg" CHECK (revision >= 0)
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"stage" text DEFAULT 'SHADOW_MODE' NOT NULL,
	"champion_id" uuid,
	"forensic_lock" boolean DEFAULT false NOT NULL,
	"forensic_lock_reason" text,
	"revision" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_id_format" CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	CONSTRAINT "tenants_stage_valid" CHECK (stage IN ('SHADOW_MODE','PILOT','CONTROLLED_AUTONOMY')),
	CONSTRAINT "tenants_name_nonempty" CHECK (length("tenants"."name") between 1 and 200)
);
--> statement-breakpoint
CREATE TABLE "transitions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_version_id" uuid NOT NULL,
	"from_state" text NOT NULL,
	"to_state" text NOT NULL,
	"reason" text NOT NULL,
	"actor" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_digest" text NOT NULL,
	"revision_after" integer NOT NULL,
	"result" jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transitions_idempotency" UNIQUE("model_version_id","idempotency_key"),
	CONSTRAINT "transitions_from_valid" CHECK (from_state IN ('DRAFT','TRAINING','VALIDATED','SHADOW','CANARY','CHAMPION','DEPRECATED','FAILED','QUARANTINED','ROLLED_BACK')),
	CONSTRAINT "transitions_to_valid" CHECK (to_state IN ('DRAFT','TRAINING','VALIDATED','SHADOW','CANARY','CHAMPION','DEPRECATED','FAILED','QUARANTINED','ROLLED_BACK'))
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text,
	"severity" text NOT NULL,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acked_at" timestamp with time zone,
	"acked_by" text,
	"escalated_at" timestamp with time zone,
	CONSTRAINT "alerts_severity_valid" CHECK (severity IN ('P1','P2','P3'))
);
--> statement-breakpoint
CREATE TABLE "dataset_snapshots" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"feature_signature" text NOT NULL,
	"merkle_root" text NOT NULL,
	"row_count" integer NOT NULL,
	"manifest" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dataset_snapshots_merkle_root" CHECK (merkle_root ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "dataset_snapshots_row_count" CHECK (row_count >= 0)
);
--> statement-breakpoint
CREATE TABLE "drift_reports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"model_version_id" uuid NOT NULL,
	"day" date NOT NULL,
	"metrics" jsonb NOT NULL,
	"breach" boolean NOT NULL,
	"kid" text NOT NULL,
	"signature" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "drift_reports_model_day" UNIQUE("model_version_id","day")
);
--> statement-breakpoint
CREATE TABLE "learning_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"model_version_id" uuid,
	"source" text,
	"prediction" double precision,
	"actual" double precision,
	"features" jsonb NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "learning_events_idempotency" UNIQUE("tenant_id","idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"at" text NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject" text NOT NULL,
	"payload" jsonb NOT NULL,
	"payload_digest" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"kid" text NOT NULL,
	"signature" text NOT NULL,
	CONSTRAINT "audit_log_seq_positive" CHECK (seq >= 1),
	CONSTRAINT "audit_log_hash_format" CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text DEFAULT 'EdDSA' NOT NULL,
	"public_key_jwk" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"user_name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"name" text PRIMARY KEY NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_role_valid" CHECK (role IN ('AGRONOMIST','MANAGER','ADMIN')),
	CONSTRAINT "users_name_format" CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$')
);
--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transitions" ADD CONSTRAINT "transitions_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_snapshots" ADD CONSTRAINT "dataset_snapshots_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "learning_events" ADD CONSTRAINT "learning_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_name_users_name_fk" FOREIGN KEY ("user_name") REFERENCES "public"."users"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "approvals_model" ON "approvals" USING btree ("model_version_id");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_one_champion" ON "model_versions" USING btree ("tenant_id") WHERE state = 'CHAMPION';--> statement-breakpoint
CREATE INDEX "model_versions_tenant" ON "model_versions" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "alerts_open" ON "alerts" USING btree ("severity","created_at");--> statement-breakpoint
CREATE INDEX "dataset_snapshots_tenant" ON "dataset_snapshots" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "learning_events_tenant_time" ON "learning_events" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_hash" ON "audit_log" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "api_tokens_user" ON "api_tokens" USING btree ("user_name");