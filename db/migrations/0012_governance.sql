CREATE TABLE "governance_committees" (
	"id" uuid PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"threshold" integer NOT NULL,
	"share_count" integer NOT NULL,
	"salt" text NOT NULL,
	"proof" text NOT NULL,
	"digest" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "governance_committees_threshold" CHECK (threshold >= 2 AND threshold <= share_count AND share_count <= 255)
);
--> statement-breakpoint
CREATE TABLE "governance_members" (
	"committee_id" uuid NOT NULL,
	"member_id" text NOT NULL,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"share_index" integer NOT NULL,
	"commitment" text NOT NULL,
	CONSTRAINT "governance_members_committee_id_member_id_pk" PRIMARY KEY("committee_id","member_id"),
	CONSTRAINT "governance_members_commitment" CHECK (commitment ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "governance_submissions" (
	"unlock_id" uuid NOT NULL,
	"member_id" text NOT NULL,
	"nonce" text NOT NULL,
	"share_digest" text NOT NULL,
	"signature" text NOT NULL,
	"vault" text NOT NULL,
	"discarded" boolean DEFAULT false NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "governance_submissions_unlock_id_member_id_nonce_pk" PRIMARY KEY("unlock_id","member_id","nonce")
);
--> statement-breakpoint
CREATE TABLE "governance_unlocks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"committee_id" uuid NOT NULL,
	"action" text NOT NULL,
	"params" jsonb NOT NULL,
	"action_hash" text NOT NULL,
	"nonce" text NOT NULL,
	"justification" text NOT NULL,
	"proposed_by" text NOT NULL,
	"state" text DEFAULT 'PENDING' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"resets" integer DEFAULT 0 NOT NULL,
	"signature" text,
	"unlocked_at" timestamp with time zone,
	"consumed_at" timestamp with time zone,
	"consumed_by" text,
	CONSTRAINT "governance_unlocks_state" CHECK (state IN ('PENDING','UNLOCKED','CONSUMED')),
	CONSTRAINT "governance_unlocks_hash" CHECK (action_hash ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "governance_unlocks_signed" CHECK ((state = 'PENDING') = (signature IS NULL)),
	CONSTRAINT "governance_unlocks_consumed" CHECK ((state = 'CONSUMED') = (consumed_at IS NOT NULL))
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "governance_members" ADD CONSTRAINT "governance_members_committee_id_governance_committees_id_fk" FOREIGN KEY ("committee_id") REFERENCES "public"."governance_committees"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "governance_submissions" ADD CONSTRAINT "governance_submissions_unlock_id_governance_unlocks_id_fk" FOREIGN KEY ("unlock_id") REFERENCES "public"."governance_unlocks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "governance_unlocks" ADD CONSTRAINT "governance_unlocks_committee_id_governance_committees_id_fk" FOREIGN KEY ("committee_id") REFERENCES "public"."governance_committees"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "governance_committees_one_active" ON "governance_committees" USING btree ("active") WHERE active;--> statement-breakpoint
CREATE UNIQUE INDEX "governance_members_index" ON "governance_members" USING btree ("committee_id","share_index");--> statement-breakpoint
CREATE INDEX "governance_unlocks_created" ON "governance_unlocks" USING btree ("created_at");--> statement-breakpoint
-- hand-written below
-- An unlock is single-use and its governance signature immutable, whatever the code does.
CREATE OR REPLACE FUNCTION tollgate_governance_unlock_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.consumed_at IS NOT NULL THEN
    RAISE EXCEPTION 'governance unlock % is already consumed', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.signature IS NOT NULL AND NEW.signature IS DISTINCT FROM OLD.signature THEN
    RAISE EXCEPTION 'governance unlock % is signed; its signature cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.action IS DISTINCT FROM OLD.action OR NEW.params IS DISTINCT FROM OLD.params OR NEW.action_hash IS DISTINCT FROM OLD.action_hash
     OR NEW.committee_id IS DISTINCT FROM OLD.committee_id THEN
    RAISE EXCEPTION 'governance unlock % cannot change what it unlocks', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER governance_unlocks_guard BEFORE UPDATE ON governance_unlocks
  FOR EACH ROW EXECUTE FUNCTION tollgate_governance_unlock_guard();
--> statement-breakpoint
CREATE TRIGGER governance_unlocks_no_delete BEFORE DELETE ON governance_unlocks
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER governance_members_append_only BEFORE UPDATE OR DELETE ON governance_members
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
-- A committee's public material never changes; it can only be retired (active true → false), never revived.
CREATE OR REPLACE FUNCTION tollgate_governance_committee_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.public_key IS DISTINCT FROM OLD.public_key OR NEW.threshold IS DISTINCT FROM OLD.threshold
     OR NEW.share_count IS DISTINCT FROM OLD.share_count OR NEW.salt IS DISTINCT FROM OLD.salt OR NEW.proof IS DISTINCT FROM OLD.proof
     OR NEW.digest IS DISTINCT FROM OLD.digest OR (NEW.active AND NOT OLD.active) THEN
    RAISE EXCEPTION 'governance committee % is immutable (it can only be retired)', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER governance_committees_guard BEFORE UPDATE ON governance_committees
  FOR EACH ROW EXECUTE FUNCTION tollgate_governance_committee_guard();
--> statement-breakpoint
CREATE TRIGGER governance_committees_no_delete BEFORE DELETE ON governance_committees
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
