CREATE TABLE "oracle_traffic_minutes" (
	"node_id" text NOT NULL,
	"minute" bigint NOT NULL,
	"requests" integer NOT NULL,
	"auth_refusals" integer NOT NULL,
	"latency" jsonb NOT NULL,
	CONSTRAINT "oracle_traffic_minutes_node_id_minute_pk" PRIMARY KEY("node_id","minute")
);
--> statement-breakpoint
ALTER TABLE "oracle_partners" ADD COLUMN "audiences" text[];