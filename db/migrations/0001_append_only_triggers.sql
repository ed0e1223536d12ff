-- Append-only tables: the database itself refuses to change history.
CREATE OR REPLACE FUNCTION tollgate_refuse_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER dataset_snapshots_append_only BEFORE UPDATE OR DELETE ON dataset_snapshots
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER dataset_snapshots_no_truncate BEFORE TRUNCATE ON dataset_snapshots
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER drift_reports_append_only BEFORE UPDATE OR DELETE ON drift_reports
  FOR EACH ROW EXECUTE FUNCTION tollgate_refuse_mutation();
--> statement-breakpoint
CREATE TRIGGER drift_reports_no_truncate BEFORE TRUNCATE ON drift_reports
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_refuse_mutation();
