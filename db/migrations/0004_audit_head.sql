CREATE TABLE "audit_head" (
	"id" smallint PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "audit_head_single_row" CHECK (id = 1),
	CONSTRAINT "audit_head_seq_nonneg" CHECK (seq >= 0)
);
--> statement-breakpoint
-- Start the head where the chain stands (the genesis hash when it is empty).
INSERT INTO "audit_head" ("id", "seq", "hash")
SELECT 1, coalesce(max(seq), 0),
       coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), repeat('0', 64))
  FROM audit_log;
--> statement-breakpoint
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
