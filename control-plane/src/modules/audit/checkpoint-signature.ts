import { type AuditCheckpoint, auditCheckpointMessage } from "#shared/audit.ts";
import { type AuditKey, auditMac, sameMac } from "./audit-key.ts";

/*
 * Checkpoints are signed with the audit HMAC key rather than the control plane's Ed25519 signing key. The
 * signing keys' private halves live in the database (signing_keys), which is exactly what the attacker in
 * this threat model can read and write: a checkpoint they could sign would prove nothing. The audit key
 * never enters the database. The price is that only holders of the key (the control plane, `npm run db`)
 * can check a checkpoint's signature; others (`churn audit verify --checkpoint`) compare hashes with it.
 */

export function signCheckpoint(
  key: AuditKey,
  head: { tenantId: string; seq: number; headHash: string },
  at: Date = new Date(),
): AuditCheckpoint {
  const unsigned = {
    tenantId: head.tenantId,
    seq: head.seq,
    headHash: head.headHash,
    time: at.toISOString(),
  };
  return { ...unsigned, mac: auditMac(key, auditCheckpointMessage(unsigned)) };
}

export function checkpointSignatureValid(key: AuditKey, checkpoint: AuditCheckpoint): boolean {
  return sameMac(auditMac(key, auditCheckpointMessage(checkpoint)), checkpoint.mac);
}
