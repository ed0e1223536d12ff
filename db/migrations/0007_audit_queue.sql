CREATE TABLE "audit_queue" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" text NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject" text NOT NULL,
	"payload" jsonb NOT NULL
);
