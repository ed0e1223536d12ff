CREATE TABLE "alert_deliveries" (
	"alert_id" uuid NOT NULL,
	"level" integer NOT NULL,
	"channel" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"delivered_at" timestamp with time zone,
	"last_error" text,
	"last_attempt_at" timestamp with time zone,
	CONSTRAINT "alert_deliveries_pk" PRIMARY KEY("alert_id","level"),
	CONSTRAINT "alert_deliveries_attempts" CHECK (attempts >= 0 AND level >= 0)
);
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "escalation_level" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "alert_deliveries" ADD CONSTRAINT "alert_deliveries_alert_id_alerts_id_fk" FOREIGN KEY ("alert_id") REFERENCES "public"."alerts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_escalation_level" CHECK (escalation_level >= 0);