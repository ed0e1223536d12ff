CREATE TABLE "feature_flags" (
	"key" text PRIMARY KEY NOT NULL,
	"description" text NOT NULL,
	"owner" text NOT NULL,
	"stage" smallint DEFAULT 0 NOT NULL,
	"killed" boolean DEFAULT false NOT NULL,
	"kill_reason" text,
	"audience" jsonb NOT NULL,
	"dependencies" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"profile" jsonb NOT NULL,
	"default_profile" jsonb NOT NULL,
	"release_notes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"owner_approvals" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"stage_entered_at" timestamp with time zone NOT NULL,
	"last_incident_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "feature_flags_key_format" CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	CONSTRAINT "feature_flags_stage_valid" CHECK (stage between 0 and 4),
	CONSTRAINT "feature_flags_version_positive" CHECK (version >= 1)
);
--> statement-breakpoint
CREATE TABLE "flag_ledger" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"flag_key" text NOT NULL,
	"decision" text NOT NULL,
	"stage_from" smallint,
	"stage_to" smallint NOT NULL,
	"approver" text NOT NULL,
	"reason" text NOT NULL,
	"evidence" jsonb NOT NULL,
	"snapshot" jsonb NOT NULL,
	"strategy" jsonb NOT NULL,
	"strategy_hash" text NOT NULL,
	"restore_point" text,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "flag_ledger_id" UNIQUE("id"),
	CONSTRAINT "flag_ledger_decision_valid" CHECK (decision IN ('create','promotion','rollback','kill','restore')),
	CONSTRAINT "flag_ledger_id_format" CHECK (id ~ '^dec-[0-9]{8}-[a-z]+-[0-9]{3,}$')
);
--> statement-breakpoint
CREATE TABLE "flag_runs" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"flag_key" text NOT NULL,
	"run_id" text NOT NULL,
	"stage" smallint NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"metrics" jsonb NOT NULL,
	CONSTRAINT "flag_runs_flag_run" UNIQUE("flag_key","run_id")
);
--> statement-breakpoint
ALTER TABLE "flag_ledger" ADD CONSTRAINT "flag_ledger_flag_key_feature_flags_key_fk" FOREIGN KEY ("flag_key") REFERENCES "public"."feature_flags"("key") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flag_runs" ADD CONSTRAINT "flag_runs_flag_key_feature_flags_key_fk" FOREIGN KEY ("flag_key") REFERENCES "public"."feature_flags"("key") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flag_ledger_flag" ON "flag_ledger" USING btree ("flag_key","seq");--> statement-breakpoint
CREATE INDEX "flag_runs_flag_at" ON "flag_runs" USING btree ("flag_key","at");--> statement-breakpoint
CREATE INDEX "flag_runs_at" ON "flag_runs" USING btree ("at");--> statement-breakpoint
-- hand-written below
CREATE TRIGGER flag_ledger_append_only BEFORE UPDATE OR DELETE ON flag_ledger
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER flag_ledger_no_truncate BEFORE TRUNCATE ON flag_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_refuse_mutation();
