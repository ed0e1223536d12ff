ALTER TABLE "flag_ledger" DROP CONSTRAINT "flag_ledger_decision_valid";--> statement-breakpoint
ALTER TABLE "feature_flags" ADD COLUMN "evidence_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "feature_flags" ADD COLUMN "evidence_after_run" bigint;--> statement-breakpoint
ALTER TABLE "flag_ledger" ADD CONSTRAINT "flag_ledger_decision_valid" CHECK (decision IN ('create','promotion','rollback','kill','restore','edit'));