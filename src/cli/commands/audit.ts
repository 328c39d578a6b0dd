import { verifyAuditChain } from '../../modules/audit/index.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

/** Exit code of `audit verify` when the chain is broken (1 is an error running the command, 2 a usage error). */
export const EXIT_AUDIT_BROKEN = 3;

registerStoreCommand('audit.verify', async (ctx, args) => {
  const fromSeq = typeof args.fromSeq === 'number' ? args.fromSeq : undefined;
  const report = await verifyAuditChain(ctx.database.db, { fromSeq });
  if (report.ok) return { exitCode: 0, output: { ok: true, rows: report.rows } };
  return {
    exitCode: EXIT_AUDIT_BROKEN,
    output: { ok: false, first_bad_seq: report.firstBadSeq, reason: report.reason },
    notes: [`flowguard: the audit log is not intact from seq ${report.firstBadSeq} (${report.reason})`],
  };
});

export const defineAudit: CliDefinition = (program, h) => {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description(
      `check the audit hash chain and its checkpoint; exits ${EXIT_AUDIT_BROKEN} naming the first bad row`,
    )
    .option('--from-seq <seq>', 'start at this seq, trusting the row before it')
    .action(async (o: { fromSeq?: string }) => {
      let fromSeq: number | undefined;
      if (o.fromSeq !== undefined) {
        fromSeq = Number(o.fromSeq);
        if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
          h.io.err('flowguard: --from-seq must be a positive integer');
          h.setExitCode(2);
          return;
        }
      }
      h.setExitCode(await h.runStore('audit.verify', fromSeq === undefined ? {} : { fromSeq }));
    });
};
