CREATE TABLE "oracle_exposure" (
	"id" smallint PRIMARY KEY NOT NULL,
	"stage" text NOT NULL,
	"previous_stage" text,
	"revision" integer DEFAULT 0 NOT NULL,
	"changed_by" text NOT NULL,
	"reason" text NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "oracle_exposure_single_row" CHECK (id = 1),
	CONSTRAINT "oracle_exposure_stage_valid" CHECK (stage IN ('SHADOW_SYNC', 'DARK_LAUNCH', 'CANARY_1', 'CANARY_10', 'OPEN'))
);
--> statement-breakpoint
CREATE TABLE "oracle_partners" (
	"id" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"public_key_jwk" jsonb NOT NULL,
	"internal" boolean DEFAULT false NOT NULL,
	"rate_limit_per_second" integer DEFAULT 1000 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "oracle_partners_id_format" CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	CONSTRAINT "oracle_partners_alg_valid" CHECK (alg IN ('EdDSA', 'ES256')),
	CONSTRAINT "oracle_partners_rate_limit" CHECK (rate_limit_per_second between 1 and 100000)
);
--> statement-breakpoint
-- hand-written below
INSERT INTO "oracle_exposure" ("id", "stage", "changed_by", "reason") VALUES (1, 'SHADOW_SYNC', 'system', 'initial stage') ON CONFLICT DO NOTHING;
