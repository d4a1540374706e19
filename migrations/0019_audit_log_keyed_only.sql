-- From here on every audit entry is keyed (chain_version 2, HMAC-SHA256 with the audit key). An older
-- release still running beside this one (a rolling upgrade) would append unkeyed entries after keyed ones,
-- which verification reports as tampering; refuse them at the database instead, loudly.
CREATE TRIGGER `audit_log_keyed_only` BEFORE INSERT ON `audit_log` WHEN NEW.`chain_version` IS NOT 2
BEGIN
  SELECT RAISE(ABORT, 'audit_log entries must be keyed (chain_version 2): upgrade every control-plane process');
END;
