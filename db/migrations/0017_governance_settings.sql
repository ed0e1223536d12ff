CREATE TABLE "governance_settings" (
	"id" integer PRIMARY KEY NOT NULL,
	"locked_actions" text[] NOT NULL,
	"changed_by" text NOT NULL,
	"unlock_id" uuid NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "governance_settings_single_row" CHECK (id = 1)
);
