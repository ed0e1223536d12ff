CREATE TABLE "stream_consumers" (
	"stream" text NOT NULL,
	"durable" text NOT NULL,
	"ack_floor" bigint DEFAULT 0 NOT NULL,
	"filter_subject" text,
	"ack_wait_ms" integer NOT NULL,
	"max_deliver" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stream_consumers_stream_durable_pk" PRIMARY KEY("stream","durable")
);
--> statement-breakpoint
CREATE TABLE "stream_messages" (
	"stream" text NOT NULL,
	"seq" bigint NOT NULL,
	"subject" text NOT NULL,
	"msg_id" text NOT NULL,
	"data" "bytea" NOT NULL,
	"published_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stream_messages_stream_seq_pk" PRIMARY KEY("stream","seq")
);
--> statement-breakpoint
CREATE TABLE "streams" (
	"name" text PRIMARY KEY NOT NULL,
	"subjects" jsonb NOT NULL,
	"duplicate_window_ms" bigint NOT NULL,
	"max_age_ms" bigint,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "streams_last_seq" CHECK (last_seq >= 0)
);
--> statement-breakpoint
ALTER TABLE "stream_consumers" ADD CONSTRAINT "stream_consumers_stream_streams_name_fk" FOREIGN KEY ("stream") REFERENCES "public"."streams"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stream_messages" ADD CONSTRAINT "stream_messages_stream_streams_name_fk" FOREIGN KEY ("stream") REFERENCES "public"."streams"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "stream_messages_msg_id" ON "stream_messages" USING btree ("stream","msg_id");--> statement-breakpoint
CREATE INDEX "stream_messages_published_at" ON "stream_messages" USING btree ("stream","published_at");