CREATE TABLE "actor_state" (
	"kind" text NOT NULL,
	"id" text NOT NULL,
	"state" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "actor_state_kind_id_pk" PRIMARY KEY("kind","id"),
	CONSTRAINT "actor_state_version_positive" CHECK (version >= 1)
);
--> statement-breakpoint
CREATE TABLE "actor_timers" (
	"kind" text NOT NULL,
	"actor_id" text NOT NULL,
	"timer_id" text NOT NULL,
	"fire_at" timestamp with time zone NOT NULL,
	"message" jsonb NOT NULL,
	CONSTRAINT "actor_timers_kind_actor_id_timer_id_pk" PRIMARY KEY("kind","actor_id","timer_id")
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"actor_id" text NOT NULL,
	"message" jsonb NOT NULL,
	"error" text NOT NULL,
	"attempts" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "actor_timers_fire_at" ON "actor_timers" USING btree ("fire_at");--> statement-breakpoint
CREATE INDEX "dead_letters_actor" ON "dead_letters" USING btree ("kind","actor_id");